package tools

import (
	"html"
	"strings"
)

// A small, forgiving HTML tokenizer: golang.org/x/net/html is not in this
// module's dependency graph, and readable text needs no full tree. It never
// fails; malformed markup degrades to text.

type tokenKind int

const (
	tokText tokenKind = iota + 1
	tokStart
	tokEnd
)

type htmlToken struct {
	kind        tokenKind
	name        string // lower-case tag name
	attrs       map[string]string
	text        string // unescaped text
	selfClosing bool
}

func (t htmlToken) attr(key string) string { return t.attrs[key] }

// hasClass reports whether the class attribute lists c.
func (t htmlToken) hasClass(c string) bool {
	for _, f := range strings.Fields(t.attrs["class"]) {
		if f == c {
			return true
		}
	}
	return false
}

// isRawTextTag reports whether the element holds text that is not markup
// until its end tag.
func isRawTextTag(name string) bool {
	switch name {
	case "script", "style", "textarea", "title", "noscript", "xmp":
		return true
	}
	return false
}

type htmlTokenizer struct {
	s      string
	pos    int
	rawTag string // inside a raw text element
}

func newHTMLTokenizer(s string) *htmlTokenizer { return &htmlTokenizer{s: s} }

// next returns the next token, or false at the end of input.
func (z *htmlTokenizer) next() (htmlToken, bool) {
	for z.pos < len(z.s) {
		if z.rawTag != "" {
			return z.rawText(), true
		}
		rest := z.s[z.pos:]
		if rest[0] != '<' {
			end := strings.IndexByte(rest, '<')
			if end < 0 {
				end = len(rest)
			}
			z.pos += end
			return htmlToken{kind: tokText, text: html.UnescapeString(rest[:end])}, true
		}
		switch {
		case strings.HasPrefix(rest, "<!--"):
			z.skipPast("-->", 4)
		case strings.HasPrefix(rest, "<!") || strings.HasPrefix(rest, "<?"):
			z.skipPast(">", 2)
		case strings.HasPrefix(rest, "</") && len(rest) > 2 && isLetter(rest[2]):
			z.pos += 2
			name := z.readName()
			z.skipPast(">", 0)
			return htmlToken{kind: tokEnd, name: name}, true
		case len(rest) > 1 && isLetter(rest[1]):
			z.pos++
			t := z.startTag()
			if isRawTextTag(t.name) && !t.selfClosing {
				z.rawTag = t.name
			}
			return t, true
		default:
			z.pos++
			return htmlToken{kind: tokText, text: "<"}, true
		}
	}
	return htmlToken{}, false
}

// rawText returns the text up to the raw element's end tag.
func (z *htmlTokenizer) rawText() htmlToken {
	rest := z.s[z.pos:]
	end := indexFold(rest, "</"+z.rawTag)
	if end < 0 {
		end = len(rest)
	}
	text := rest[:end]
	if z.rawTag == "title" || z.rawTag == "textarea" {
		text = html.UnescapeString(text)
	}
	z.pos += end
	z.rawTag = ""
	return htmlToken{kind: tokText, text: text}
}

// skipPast moves past the first sep found after skipping from bytes.
func (z *htmlTokenizer) skipPast(sep string, from int) {
	i := strings.Index(z.s[z.pos+from:], sep)
	if i < 0 {
		z.pos = len(z.s)
		return
	}
	z.pos += from + i + len(sep)
}

func (z *htmlTokenizer) readName() string {
	start := z.pos
	for z.pos < len(z.s) && !isSpaceByte(z.s[z.pos]) && z.s[z.pos] != '>' && z.s[z.pos] != '/' {
		z.pos++
	}
	return strings.ToLower(z.s[start:z.pos])
}

// startTag parses a start tag after its '<'.
func (z *htmlTokenizer) startTag() htmlToken {
	t := htmlToken{kind: tokStart, name: z.readName()}
	for z.pos < len(z.s) {
		c := z.s[z.pos]
		switch {
		case c == '>':
			z.pos++
			return t
		case c == '/':
			t.selfClosing = z.pos+1 < len(z.s) && z.s[z.pos+1] == '>'
			z.pos++
		case isSpaceByte(c):
			z.pos++
		default:
			key, val := z.attribute()
			if t.attrs == nil {
				t.attrs = make(map[string]string)
			}
			if _, dup := t.attrs[key]; !dup {
				t.attrs[key] = val
			}
		}
	}
	return t
}

func (z *htmlTokenizer) attribute() (key, val string) {
	start := z.pos
	for z.pos < len(z.s) && !isSpaceByte(z.s[z.pos]) && !strings.ContainsRune("=>/", rune(z.s[z.pos])) {
		z.pos++
	}
	if z.pos == start { // a stray '=': step over it
		z.pos++
		return "", ""
	}
	key = strings.ToLower(z.s[start:z.pos])
	for z.pos < len(z.s) && isSpaceByte(z.s[z.pos]) {
		z.pos++
	}
	if z.pos >= len(z.s) || z.s[z.pos] != '=' {
		return key, ""
	}
	z.pos++
	for z.pos < len(z.s) && isSpaceByte(z.s[z.pos]) {
		z.pos++
	}
	if z.pos < len(z.s) && (z.s[z.pos] == '"' || z.s[z.pos] == '\'') {
		q := z.s[z.pos]
		end := strings.IndexByte(z.s[z.pos+1:], q)
		if end < 0 {
			val, z.pos = z.s[z.pos+1:], len(z.s)
		} else {
			val = z.s[z.pos+1 : z.pos+1+end]
			z.pos += end + 2
		}
		return key, html.UnescapeString(val)
	}
	start = z.pos
	for z.pos < len(z.s) && !isSpaceByte(z.s[z.pos]) && z.s[z.pos] != '>' {
		z.pos++
	}
	return key, html.UnescapeString(z.s[start:z.pos])
}

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// indexFold is strings.Index ignoring ASCII case of s.
func indexFold(s, sub string) int {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], sub) {
			return i
		}
	}
	return -1
}
