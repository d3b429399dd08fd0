package tools

import (
	"net/url"
	"strings"
)

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
		z        = newHTMLTokenizer(doc)
		skipName string
		skipN    int
		inTitle  bool
		pre      int
		link     *linkState
	)
	for {
		t, ok := z.next()
		if !ok {
			break
		}
		if t.name == "title" {
			inTitle = t.kind == tokStart && title == ""
			continue
		}
		if inTitle && t.kind == tokText {
			title = strings.Join(strings.Fields(t.text), " ")
			continue
		}
		if skipN > 0 {
			switch {
			case skipName == "head" && t.kind == tokStart && t.name == "body":
				skipN = 0 // <head> left unclosed
			case t.name == skipName && t.kind == tokStart && !t.selfClosing:
				skipN++
				continue
			case t.name == skipName && t.kind == tokEnd:
				skipN--
				continue
			default:
				continue
			}
		}
		switch t.kind {
		case tokText:
			if link != nil {
				link.text.WriteString(t.text)
			} else {
				w.text(t.text, pre > 0)
			}
		case tokStart:
			if skippedTag(t.name) && !t.selfClosing {
				skipName, skipN = t.name, 1
				continue
			}
			switch {
			case t.name == "a":
				link = &linkState{href: resolveLink(base, t.attr("href"))}
			case len(t.name) == 2 && t.name[0] == 'h' && t.name[1] >= '1' && t.name[1] <= '6':
				w.block(2)
				w.write(strings.Repeat("#", int(t.name[1]-'0')) + " ")
				continue
			case t.name == "li":
				w.block(1)
				w.write("- ")
				continue
			case t.name == "pre":
				pre++
			case t.name == "td" || t.name == "th":
				w.space = true
			}
			w.block(blockBreak(t.name))
		case tokEnd:
			switch t.name {
			case "a":
				if link != nil {
					w.text(link.markdown(), pre > 0)
					link = nil
				}
			case "pre":
				pre = max(pre-1, 0)
			}
			w.block(blockBreak(t.name))
		}
	}
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
