package sim

import (
	"html"
	"regexp"
	"strings"
	"sync"
)

// Markdown renders text as DingTalk renders a markdown message: its
// documented subset (headings, bold, italic, links, images, ordered and
// unordered lists, quotes) plus code, which DingTalk's clients show in a
// monospace block. Tables and other markdown stay as plain text, as in
// DingTalk. Everything is escaped first, and links keep only http(s)
// URLs, so that no text can inject markup into the page.
func Markdown(text string) string {
	var b strings.Builder
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var para []string
	list := "" // "ul" or "ol" while inside one
	quote := false
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + strings.Join(para, "<br>") + "</p>")
			para = nil
		}
		if list != "" {
			b.WriteString("</" + list + ">")
			list = ""
		}
		if quote {
			b.WriteString("</blockquote>")
			quote = false
		}
	}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "```"):
			flush()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, lines[i])
			}
			b.WriteString("<pre><code>" + html.EscapeString(strings.Join(code, "\n")) + "</code></pre>")
		case t == "":
			flush()
		case mdPatterns().heading.MatchString(t):
			flush()
			m := mdPatterns().heading.FindStringSubmatch(t)
			n := string(rune('0' + len(m[1])))
			b.WriteString("<h" + n + ">" + inline(m[2]) + "</h" + n + ">")
		case strings.HasPrefix(t, ">"):
			if !quote {
				flush()
				b.WriteString("<blockquote>")
				quote = true
			} else {
				b.WriteString("<br>")
			}
			b.WriteString(inline(strings.TrimSpace(strings.TrimPrefix(t, ">"))))
		case mdPatterns().bullet.MatchString(t):
			openList(&b, &list, "ul", flush)
			b.WriteString("<li>" + inline(mdPatterns().bullet.FindStringSubmatch(t)[1]) + "</li>")
		case mdPatterns().ordered.MatchString(t):
			openList(&b, &list, "ol", flush)
			b.WriteString("<li>" + inline(mdPatterns().ordered.FindStringSubmatch(t)[1]) + "</li>")
		default:
			if list != "" || quote {
				flush()
			}
			para = append(para, inline(t))
		}
	}
	flush()
	return b.String()
}

func openList(b *strings.Builder, list *string, kind string, flush func()) {
	if *list == kind {
		return
	}
	flush()
	b.WriteString("<" + kind + ">")
	*list = kind
}

// mdREs are the renderer's patterns.
type mdREs struct {
	heading, bullet, ordered *regexp.Regexp
	// Inline rules, applied to escaped text.
	codeSpan, image, link, bold, italic *regexp.Regexp
}

// mdPatterns compiles them at the first page rendered, not at every
// start of the binary (the gateway links this package for `sim`).
var mdPatterns = sync.OnceValue(func() *mdREs {
	return &mdREs{
		heading:  regexp.MustCompile(`^(#{1,6})\s+(.*)$`),
		bullet:   regexp.MustCompile(`^[-*+]\s+(.*)$`),
		ordered:  regexp.MustCompile(`^\d+[.)]\s+(.*)$`),
		codeSpan: regexp.MustCompile("`([^`]+)`"),
		image:    regexp.MustCompile(`!\[([^\]]*)\]\(([^)\s]+)\)`),
		link:     regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`),
		bold:     regexp.MustCompile(`\*\*([^*]+)\*\*`),
		italic:   regexp.MustCompile(`\*([^*\s][^*]*)\*`),
	}
})

// inline renders one line's spans. Code spans are cut out first so that
// nothing inside them is touched.
func inline(s string) string {
	parts := mdPatterns().codeSpan.FindAllStringSubmatchIndex(s, -1)
	var b strings.Builder
	last := 0
	for _, p := range parts {
		b.WriteString(spans(s[last:p[0]]))
		b.WriteString("<code>" + html.EscapeString(s[p[2]:p[3]]) + "</code>")
		last = p[1]
	}
	b.WriteString(spans(s[last:]))
	return b.String()
}

func spans(s string) string {
	s = html.EscapeString(s)
	s = mdPatterns().image.ReplaceAllStringFunc(s, func(m string) string {
		g := mdPatterns().image.FindStringSubmatch(m)
		if !safeURL(g[2]) {
			return m
		}
		return `<img alt="` + g[1] + `" src="` + g[2] + `">`
	})
	s = mdPatterns().link.ReplaceAllStringFunc(s, func(m string) string {
		g := mdPatterns().link.FindStringSubmatch(m)
		if !safeURL(g[2]) {
			return m
		}
		return `<a href="` + g[2] + `" target="_blank" rel="noopener noreferrer">` + g[1] + `</a>`
	})
	s = mdPatterns().bold.ReplaceAllString(s, "<strong>$1</strong>")
	return mdPatterns().italic.ReplaceAllString(s, "<em>$1</em>")
}

// safeURL admits web links only (no javascript:, data:, …). u is escaped
// already, so it cannot leave its attribute.
func safeURL(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

// plainHTML shows text as DingTalk shows a text message: as typed.
func plainHTML(text string) string {
	return strings.ReplaceAll(html.EscapeString(text), "\n", "<br>")
}
