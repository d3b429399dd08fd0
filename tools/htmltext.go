package tools

import (
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Pages come from anywhere and may be hostile or broken, so they are read
// with golang.org/x/net/html's tokenizer (the HTML5 tokenization rules,
// fuzzed upstream) rather than by hand. A token stream, not a tree, is
// enough for readable text and keeps memory flat on huge pages.

// htmlTokens calls yield for every start, self-closing, end and text token
// of doc, with tag names lower-cased and text and attribute values
// unescaped, until yield returns false or the input ends. Comments and
// doctypes are dropped. A self-closing tag of an element whose content the
// tokenizer reads as raw text (<script/>) is passed on as a start tag, as
// browsers treat it, so its content is skipped with it.
func htmlTokens(doc string, yield func(html.Token) bool) {
	z := html.NewTokenizer(strings.NewReader(doc))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return // io.EOF: the reader is a string and cannot fail otherwise
		case html.CommentToken, html.DoctypeToken:
			continue
		}
		t := z.Token()
		if t.Type == html.SelfClosingTagToken && rawTextTag(t.Data) {
			t.Type = html.StartTagToken
		}
		if !yield(t) {
			return
		}
	}
}

// rawTextTag reports whether the tokenizer reads an element's content as
// text up to its end tag.
func rawTextTag(name string) bool {
	switch name {
	case "iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp":
		return true
	}
	return false
}

// tagAttr returns the first value of the attribute key, or "".
func tagAttr(t html.Token, key string) string {
	for _, a := range t.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

// hasClass reports whether t's class attribute lists c.
func hasClass(t html.Token, c string) bool {
	for _, f := range strings.Fields(tagAttr(t, "class")) {
		if f == c {
			return true
		}
	}
	return false
}

// skippedTag reports whether an element's whole content is left out of the
// readable text: code, styling, navigation and other chrome.
func skippedTag(name string) bool {
	switch name {
	case "script", "style", "noscript", "template", "svg", "nav", "head", "iframe", "object", "canvas", "select":
		return true
	}
	return false
}

// blockBreak returns how many line breaks an element forces around it.
func blockBreak(name string) int {
	switch name {
	case "p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table", "ul", "ol", "dl",
		"section", "article", "header", "footer", "main", "figure", "hr", "form":
		return 2
	case "div", "li", "tr", "br", "dt", "dd", "figcaption", "summary", "details", "aside", "address", "caption":
		return 1
	}
	return 0
}

// htmlToText renders an HTML document as readable text: headings as
// "# …", list items as "- …", links as [text](absolute URL). base
// resolves relative links and may be nil.
func htmlToText(doc string, base *url.URL) (title, text string) {
	var (
		w        textWriter
		skipName string
		skipN    int
		inTitle  bool
		pre      int
		link     *linkState
	)
	htmlTokens(doc, func(t html.Token) bool {
		var (
			start = t.Type == html.StartTagToken || t.Type == html.SelfClosingTagToken
			end   = t.Type == html.EndTagToken
			name  = ""
		)
		if start || end {
			name = t.Data
		}
		if name == "title" {
			inTitle = t.Type == html.StartTagToken && title == ""
			return true
		}
		if inTitle && t.Type == html.TextToken {
			title = strings.Join(strings.Fields(t.Data), " ")
			return true
		}
		if skipN > 0 {
			switch {
			case skipName == "head" && start && name == "body":
				skipN = 0 // <head> left unclosed
			case name == skipName && t.Type == html.StartTagToken:
				skipN++
				return true
			case name == skipName && end:
				skipN--
				return true
			default:
				return true
			}
		}
		switch {
		case t.Type == html.TextToken:
			if link != nil {
				link.text.WriteString(t.Data)
			} else {
				w.text(t.Data, pre > 0)
			}
		case start:
			if skippedTag(name) && t.Type == html.StartTagToken {
				skipName, skipN = name, 1
				return true
			}
			switch {
			case name == "a":
				link = &linkState{href: resolveLink(base, tagAttr(t, "href"))}
			case len(name) == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6':
				w.block(2)
				w.write(strings.Repeat("#", int(name[1]-'0')) + " ")
				return true
			case name == "li":
				w.block(1)
				w.write("- ")
				return true
			case name == "pre":
				pre++
			case name == "td" || name == "th":
				w.space = true
			}
			w.block(blockBreak(name))
		case end:
			switch name {
			case "a":
				if link != nil {
					w.text(link.markdown(), pre > 0)
					link = nil
				}
			case "pre":
				pre = max(pre-1, 0)
			}
			w.block(blockBreak(name))
		}
		return true
	})
	if link != nil {
		w.text(link.markdown(), pre > 0)
	}
	return title, w.String()
}

type linkState struct {
	href string
	text strings.Builder
}

// markdown renders the link, keeping the spaces around it.
func (l *linkState) markdown() string {
	raw := l.text.String()
	words := strings.Join(strings.Fields(raw), " ")
	if words == "" || l.href == "" {
		return raw
	}
	lead, trail := "", ""
	if raw[0] <= ' ' {
		lead = " "
	}
	if raw[len(raw)-1] <= ' ' {
		trail = " "
	}
	return lead + "[" + words + "](" + l.href + ")" + trail
}

// resolveLink returns href as an absolute http(s) URL, or "" for anchors,
// javascript: and other links the reader cannot follow.
func resolveLink(base *url.URL, href string) string {
	href = strings.TrimSpace(href)
	if href == "" || strings.HasPrefix(href, "#") {
		return ""
	}
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return ""
	}
	return u.String()
}

// textWriter collapses whitespace and turns block boundaries into line
// breaks.
type textWriter struct {
	b         strings.Builder
	pendingNL int
	space     bool // a space is owed before the next word
	lineStart bool
}

func (w *textWriter) block(n int) {
	if n == 0 || w.b.Len() == 0 {
		return
	}
	w.pendingNL = max(w.pendingNL, n)
	w.space = false
}

func (w *textWriter) flush() {
	if w.pendingNL > 0 {
		w.b.WriteString(strings.Repeat("\n", w.pendingNL))
		w.pendingNL, w.space, w.lineStart = 0, false, true
	}
}

// write adds s literally (a prefix such as "- ").
func (w *textWriter) write(s string) {
	w.flush()
	w.b.WriteString(s)
	w.space, w.lineStart = false, true
}

func (w *textWriter) text(s string, pre bool) {
	if s == "" {
		return
	}
	if pre {
		w.flush()
		w.b.WriteString(s)
		w.space, w.lineStart = false, strings.HasSuffix(s, "\n")
		return
	}
	words := strings.Fields(s)
	if len(words) == 0 {
		w.space = true
		return
	}
	w.flush()
	if (w.space || s[0] <= ' ') && !w.lineStart && w.b.Len() > 0 {
		w.b.WriteByte(' ')
	}
	w.b.WriteString(strings.Join(words, " "))
	w.space, w.lineStart = s[len(s)-1] <= ' ', false
}

func (w *textWriter) String() string {
	lines := strings.Split(w.b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	out := strings.Join(lines, "\n")
	for strings.Contains(out, "\n\n\n") {
		out = strings.ReplaceAll(out, "\n\n\n", "\n\n")
	}
	return strings.TrimSpace(out)
}
