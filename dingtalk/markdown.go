package dingtalk

import (
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// DingTalk's robot markdown is a subset (its doc lists headings, quotes,
// bold, italic, links, images, ordered and unordered lists, and line
// breaks written "  \n"); code fences render on current clients. What
// models write beyond that shows up as raw symbols, so ShapeMarkdown
// rewrites it before an answer is split and sent:
//
//   - tables become an aligned code block when narrow enough for a phone
//     (maxTableWidth columns), else one list item per row;
//   - headings below level 3 (####…) become a bold line: DingTalk draws
//     them as plain text;
//   - images become links (an image URL that is not http(s), such as a
//     data: URL or a local path, becomes its alt text): a chat message
//     cannot load them, and a broken image hides the link;
//   - thematic breaks (---, ***, ___) become a line of "—", since "---"
//     under a line turns that line into a heading;
//   - task list boxes ([ ] / [x]) become ☐ / ☑;
//   - <br> becomes a line break;
//   - single line breaks inside a paragraph become hard breaks ("  \n"),
//     so lines the model separated are not run together.
//
// Code blocks and inline code are left exactly as written.

// maxTableWidth is how many monospace columns a table may take to be kept
// as a grid in a code block; about what a phone shows without scrolling.
const maxTableWidth = 44

// mdPatterns are ShapeMarkdown's patterns, compiled at its first use
// rather than at start-up: about 60 KB of heap and 0.3 ms the gateway
// (and each sandboxed command, which starts as this binary) would spend
// before it connects.
var mdPatterns = sync.OnceValue(func() *mdREs {
	return &mdREs{
		image:       regexp.MustCompile(`!\[([^\]\n]*)\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"\n]*")?\s*\)`),
		heading:     regexp.MustCompile(`^ {0,3}(#{4,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`),
		hr:          regexp.MustCompile(`^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$`),
		task:        regexp.MustCompile(`^(\s*(?:[-*+]|\d+[.)])\s+)\[([ xX])\]\s+`),
		br:          regexp.MustCompile(`(?i)<br\s*/?>`),
		tableSep:    regexp.MustCompile(`^\s*\|?\s*:?-{1,}:?\s*(?:\|\s*:?-{1,}:?\s*)*\|?\s*$`),
		emphasis:    regexp.MustCompile(`\*\*|__|~~`),
		linkInCells: regexp.MustCompile(`\[[^\]]*\]\([^)]*\)`),
	}
})

type mdREs struct {
	image, heading, hr, task, br, tableSep, emphasis, linkInCells *regexp.Regexp
}

// ShapeMarkdown rewrites markdown for DingTalk's renderer (see above).
// It is deterministic, so a message split after shaping splits the same
// way on every retry.
func ShapeMarkdown(s string) string {
	if s == "" {
		return s
	}
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	out := make([]string, 0, len(lines))
	// code marks the lines of out that are code, which line-break
	// shaping must not touch.
	code := make([]bool, 0, len(lines))
	emit := func(l string, isCode bool) {
		out = append(out, l)
		code = append(code, isCode)
	}
	fence := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		trimmed := strings.TrimSpace(l)
		if fence != "" {
			emit(l, true)
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, fence[:1]) == "" {
				fence = ""
			}
			continue
		}
		if f := fenceOpen(trimmed); f != "" {
			fence = f
			emit(l, true)
			continue
		}
		if i+1 < len(lines) && strings.Contains(l, "|") && mdPatterns().tableSep.MatchString(lines[i+1]) && strings.Contains(lines[i+1], "-") {
			header := splitRow(l)
			var rows [][]string
			j := i + 2
			for ; j < len(lines) && strings.Contains(lines[j], "|") && strings.TrimSpace(lines[j]) != ""; j++ {
				rows = append(rows, splitRow(lines[j]))
			}
			raw := lines[i:j]
			table, ok := renderTableBounded(header, rows, raw)
			if !ok {
				// A table shaping would blow up (thousands of padded
				// cells, a long header repeated on every row) stays as
				// the model wrote it: an answer is bounded, its shaping
				// must be too.
				for _, l := range raw {
					emit(l, false)
				}
				i = j - 1
				continue
			}
			grid := len(table) > 0 && table[0] == "```"
			for _, tl := range table {
				emit(tl, grid)
			}
			i = j - 1
			continue
		}
		emit(shapeLine(l), false)
	}
	hardBreaks(out, code)
	return strings.Join(out, "\n")
}

// fenceOpen returns the fence of a line that opens a code block (``` or
// ~~~, three or more), else "".
func fenceOpen(trimmed string) string {
	for _, c := range []string{"`", "~"} {
		if strings.HasPrefix(trimmed, c+c+c) {
			return strings.Repeat(c, len(trimmed)-len(strings.TrimLeft(trimmed, c)))
		}
	}
	return ""
}

// shapeLine rewrites one line outside code.
func shapeLine(l string) string {
	if mdPatterns().hr.MatchString(l) {
		return "——————"
	}
	if m := mdPatterns().heading.FindStringSubmatch(l); m != nil {
		title := strings.TrimSpace(m[2])
		if title == "" {
			return ""
		}
		l = "**" + strings.Trim(title, "*") + "**"
	}
	l = mdPatterns().task.ReplaceAllStringFunc(l, func(s string) string {
		m := mdPatterns().task.FindStringSubmatch(s)
		if m[2] == " " {
			return m[1] + "☐ "
		}
		return m[1] + "☑ "
	})
	return outsideInlineCode(l, func(seg string) string {
		seg = mdPatterns().br.ReplaceAllString(seg, "  \n")
		return mdPatterns().image.ReplaceAllStringFunc(seg, imageLink)
	})
}

// imageLink turns ![alt](url) into a link, or the alt text when the URL
// cannot be opened from a chat.
func imageLink(s string) string {
	m := mdPatterns().image.FindStringSubmatch(s)
	alt, url := strings.TrimSpace(m[1]), m[2]
	if alt == "" {
		alt = "image"
	}
	if lower := strings.ToLower(url); strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
		return "[🖼 " + alt + "](" + url + ")"
	}
	return "[image: " + alt + "]"
}

// outsideInlineCode applies f to the parts of l outside `code` spans.
func outsideInlineCode(l string, f func(string) string) string {
	if !strings.Contains(l, "`") {
		return f(l)
	}
	parts := strings.Split(l, "`")
	if len(parts)%2 == 0 {
		// An unmatched backtick: no span to protect past it.
		return f(l)
	}
	for i := 0; i < len(parts); i += 2 {
		parts[i] = f(parts[i])
	}
	return strings.Join(parts, "`")
}

// hardBreaks ends each prose line that another non-blank line follows
// with two spaces, DingTalk's line break.
func hardBreaks(out []string, code []bool) {
	for i := 0; i+1 < len(out); i++ {
		if code[i] || code[i+1] || strings.TrimSpace(out[i]) == "" || strings.TrimSpace(out[i+1]) == "" {
			continue
		}
		if strings.HasSuffix(out[i], "  ") || strings.HasSuffix(out[i], "\\") || strings.HasSuffix(out[i], "\n") {
			continue
		}
		out[i] += "  "
	}
}

// splitRow splits a table row into trimmed cells, keeping escaped pipes.
func splitRow(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimPrefix(l, "|")
	if strings.HasSuffix(l, "|") && !strings.HasSuffix(l, `\|`) {
		l = l[:len(l)-1]
	}
	var cells []string
	var b strings.Builder
	inCode := false
	for i := 0; i < len(l); i++ {
		switch c := l[i]; {
		case c == '\\' && i+1 < len(l) && l[i+1] == '|':
			b.WriteByte('|')
			i++
		case c == '`':
			inCode = !inCode
			b.WriteByte(c)
		case c == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	cells = append(cells, strings.TrimSpace(b.String()))
	for i, c := range cells {
		cells[i] = strings.TrimSpace(mdPatterns().br.ReplaceAllString(c, "; "))
	}
	return cells
}

// renderTable writes a table as a code-block grid if it is narrow, else
// as a list.
// renderTableBounded is renderTable unless the table would take more than
// three times the bytes of raw, its source lines (plus a little); ok is
// false then.
func renderTableBounded(header []string, rows [][]string, raw []string) ([]string, bool) {
	size := 0
	for _, l := range raw {
		size += len(l) + 1
	}
	limit := 3*size + 32
	n := len(header)
	for _, r := range rows {
		n = max(n, len(r))
	}
	if n*(len(rows)+1) > limit { // padding alone would pass it
		return nil, false
	}
	headerBytes := 0
	for _, h := range header {
		headerBytes += len(h)
	}
	if headerBytes > maxTableWidth && headerBytes*len(rows) > limit {
		return nil, false // too wide for a grid; a list repeats the header on every row
	}
	table := renderTable(header, rows)
	out := 0
	for _, l := range table {
		out += len(l) + 1
	}
	return table, out <= limit
}

func renderTable(header []string, rows [][]string) []string {
	n := len(header)
	for _, r := range rows {
		n = max(n, len(r))
	}
	pad := func(r []string) []string {
		for len(r) < n {
			r = append(r, "")
		}
		return r
	}
	header = pad(header)
	for i := range rows {
		rows[i] = pad(rows[i])
	}
	if lines, ok := gridTable(header, rows); ok {
		return lines
	}
	return listTable(header, rows)
}

// gridTable aligns the table in a code block, with inline markup
// removed; ok is false when it would be too wide or loses links.
func gridTable(header []string, rows [][]string) ([]string, bool) {
	all := append([][]string{header}, rows...)
	widths := make([]int, len(header))
	for _, r := range all {
		for i, c := range r {
			if mdPatterns().linkInCells.MatchString(c) {
				return nil, false
			}
			r[i] = plainCell(c)
			widths[i] = max(widths[i], displayWidth(r[i]))
		}
	}
	total := 3 * (len(widths) - 1)
	for _, w := range widths {
		total += w
	}
	if total > maxTableWidth {
		return nil, false
	}
	row := func(r []string) string {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString(" | ")
			}
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-displayWidth(c)))
			}
		}
		return strings.TrimRight(b.String(), " ")
	}
	sep := make([]string, len(widths))
	for i, w := range widths {
		sep[i] = strings.Repeat("-", w)
	}
	lines := []string{"```", row(all[0]), strings.Join(sep, "-+-")}
	for _, r := range all[1:] {
		lines = append(lines, row(r))
	}
	return append(lines, "```"), true
}

// listTable writes each row as "- **first cell** — Header: cell · …",
// skipping empty cells; markup in cells is kept (lists render it).
func listTable(header []string, rows [][]string) []string {
	lines := make([]string, 0, len(rows))
	for _, r := range rows {
		var b strings.Builder
		b.WriteString("- ")
		first := strings.TrimSpace(r[0])
		if first != "" {
			b.WriteString("**" + strings.Trim(first, "*") + "**")
		}
		sep := " — "
		if first == "" {
			sep = ""
		}
		for i := 1; i < len(r); i++ {
			if r[i] == "" {
				continue
			}
			b.WriteString(sep)
			if h := plainCell(header[i]); h != "" {
				b.WriteString(h + ": ")
			}
			b.WriteString(r[i])
			sep = " · "
		}
		lines = append(lines, b.String())
	}
	return lines
}

// plainCell drops emphasis and code marks, which a code block would show.
func plainCell(c string) string {
	c = mdPatterns().emphasis.ReplaceAllString(c, "")
	return strings.ReplaceAll(c, "`", "")
}

// displayWidth counts monospace columns: East Asian wide characters and
// emoji take two.
func displayWidth(s string) int {
	w := 0
	for _, r := range s {
		switch {
		case r < 0x1100 || !utf8.ValidRune(r):
			w++
		case unicode.In(r, unicode.Han, unicode.Hangul, unicode.Hiragana, unicode.Katakana),
			r >= 0x3000 && r <= 0x303f, r >= 0xff00 && r <= 0xff60, r >= 0xffe0 && r <= 0xffe6,
			r >= 0x1f300 && r <= 0x1faff:
			w += 2
		default:
			w++
		}
	}
	return w
}
