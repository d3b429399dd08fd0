package dingtalk

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"picoclaw/internal/text"
)

// maxReplyBytes is the size split cuts answers to. DingTalk rejects a
// webhook body over 20,000 bytes (errcode 460101), and the body is more
// than the text: the JSON envelope and title (~150 bytes) plus escaping,
// which turns a newline or quote into two bytes and a control character
// into six. 18,000 leaves room for ~2,000 escapes per part; text of
// pathological escape density (all quotes) can still exceed it, and then
// the webhook's 460101 error reports it rather than the text being lost.
const maxReplyBytes = 18000

// split cuts text into parts of at most maxBytes bytes of UTF-8 (so also
// at most maxBytes runes), never inside a character. It cuts, by
// preference, at a blank line, a line break, a space, then anywhere, and
// avoids cutting inside a ``` code fence; when it must, it closes the fence
// at the end of the part ("\n```") and reopens it with the same info
// string at the start of the next, counting those lines in the budget.
// The whitespace at a cut is dropped; nothing else is. A maxBytes below
// utf8.UTFMax is treated as utf8.UTFMax. Blank text gives no parts.
func split(text string, maxBytes int) []string {
	pieces := splitPieces(text, maxBytes)
	if len(pieces) == 0 {
		return nil
	}
	parts := make([]string, len(pieces))
	for i, p := range pieces {
		parts[i] = p.prefix + text[p.start:p.end] + p.suffix
	}
	return parts
}

// piece is one part of split: text[start:end] between an added fence
// reopening line (prefix) and an added fence close (suffix).
type piece struct {
	start, end     int
	prefix, suffix string
}

// fence is a ``` code block of the text, by byte offsets: the opening
// line starts at openStart; the body runs from bodyStart to bodyEnd (the
// start of the closing line); the closing line ends at closeEnd (before
// its newline). An unclosed fence runs to the end of the text.
type fence struct {
	openStart, bodyStart, bodyEnd, closeEnd int
	reopen, close                           string
}

func findFences(text string) []fence {
	var out []fence
	var cur *fence
	var ticks string
	for lineStart := 0; lineStart < len(text); {
		lineEnd := strings.IndexByte(text[lineStart:], '\n')
		next := len(text)
		if lineEnd < 0 {
			lineEnd = len(text)
		} else {
			lineEnd += lineStart
			next = lineEnd + 1
		}
		line := strings.TrimSpace(text[lineStart:lineEnd])
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			ticks = line[:len(line)-len(strings.TrimLeft(line, "`"))]
			cur = &fence{openStart: lineStart, bodyStart: next, reopen: line + "\n", close: "\n" + ticks}
		case cur != nil && len(line) >= len(ticks) && strings.Trim(line, "`") == "":
			cur.bodyEnd, cur.closeEnd = lineStart, lineEnd
			out = append(out, *cur)
			cur = nil
		}
		lineStart = next
	}
	if cur != nil {
		cur.bodyEnd, cur.closeEnd = len(text), len(text)
		out = append(out, *cur)
	}
	return out
}

func splitPieces(text string, maxBytes int) []piece {
	if strings.TrimSpace(text) == "" {
		return nil
	}
	maxBytes = max(maxBytes, utf8.UTFMax)
	s := splitter{text: text, max: maxBytes, fences: findFences(text)}
	var out []piece
	var reopen string // the fence line the next part must start with
	for start := 0; start < len(text); {
		budget := maxBytes - len(reopen)
		if ws := len(text[start:]) - len(strings.TrimLeftFunc(text[start:], unicode.IsSpace)); reopen == "" && ws > 0 &&
			(ws > budget/2 || ws >= budget-utf8.UTFMax) {
			// A whitespace run that fills most of a part is dropped rather
			// than sent as a blank part.
			start += ws
		}
		if len(text)-start <= budget {
			out = append(out, piece{start: start, end: len(text), prefix: reopen})
			break
		}
		c := s.cut(start, budget)
		out = append(out, piece{start: start, end: c.p, prefix: reopen, suffix: c.close})
		reopen = c.reopen
		start = c.q
		if reopen == "" && strings.TrimSpace(text[start:]) == "" {
			break
		}
	}
	return out
}

type splitter struct {
	text   string
	max    int
	fences []fence
	start  int // where the current part's text starts
	end    int // where the current part's text must end by
}

// cutAt is a chosen cut: the part ends at p, the next starts at q
// (text[p:q] is dropped whitespace). close/reopen are set for a cut inside
// a fence.
type cutAt struct {
	p, q          int
	close, reopen string
}

// cut chooses where the part starting at start ends, with budget bytes of
// text available. It always makes progress (p > start).
func (s *splitter) cut(start, budget int) cutAt {
	s.start, s.end = start, start+budget
	minP := start + budget/2 // below this, a cut wastes too much of the part
	seps := []string{"\n\n", "\n", " "}
	for _, sep := range seps {
		if c, ok := s.lastSep(start, minP, sep, s.outside); ok {
			return c
		}
	}
	// A fence that would fit in a part of its own is worth a short part.
	if f := s.fenceAround(text.Boundary(s.text, s.end)); f != nil && f.closeEnd-f.openStart <= s.max {
		p := f.openStart
		for p > start && strings.IndexByte(" \t\n", s.text[p-1]) >= 0 {
			p--
		}
		if p > start {
			return cutAt{p: p, q: f.openStart}
		}
	}
	for _, sep := range seps {
		if c, ok := s.lastSep(start, minP, sep, s.inside); ok {
			return c
		}
	}
	// No separator: cut between runes, before the fence if that keeps
	// enough of the part, else inside it with a close.
	p := text.Boundary(s.text, s.end)
	f := s.fenceAround(p)
	if f == nil {
		return cutAt{p: p, q: p}
	}
	if f.openStart >= minP && !s.blank(f.openStart) {
		return cutAt{p: f.openStart, q: f.openStart}
	}
	pi := text.Boundary(s.text, s.end-len(f.close))
	if c, ok := s.inside(pi, pi); ok {
		return c
	}
	return cutAt{p: p, q: p} // a fence line longer than a part: cut it unmarked
}

// lastSep finds the last occurrence of sep ending the part within
// [minP, s.end] whose cut ok accepts. The cut drops the separator, any
// whitespace before it, and repeated newlines after it.
func (s *splitter) lastSep(start, minP int, sep string, ok func(p, q int) (cutAt, bool)) (cutAt, bool) {
	hi := min(len(s.text), s.end+len(sep))
	for hi > start {
		i := strings.LastIndex(s.text[start:hi], sep)
		if i < 0 {
			return cutAt{}, false
		}
		i += start
		hi = i + len(sep) - 1
		p := i
		for p > start && strings.IndexByte(" \t\n", s.text[p-1]) >= 0 {
			p--
		}
		if p < minP || p <= start {
			return cutAt{}, false
		}
		q := i + len(sep)
		for sep != " " && q < len(s.text) && s.text[q] == '\n' {
			q++
		}
		for sep == " " && q < len(s.text) && s.text[q] == ' ' {
			q++
		}
		if c, good := ok(p, q); good {
			return c, true
		}
	}
	return cutAt{}, false
}

// outside accepts a cut that touches no fence.
func (s *splitter) outside(p, q int) (cutAt, bool) {
	if s.blank(p) {
		return cutAt{}, false
	}
	for _, f := range s.fences {
		if q > f.openStart && p < f.closeEnd {
			return cutAt{}, false
		}
	}
	return cutAt{p: p, q: q}, true
}

// inside accepts a cut within a fence's body that leaves body text on both
// sides, and room in this part for the close and in the next for the reopening.
func (s *splitter) inside(p, q int) (cutAt, bool) {
	f := s.fenceAround(p)
	if f == nil || s.blank(p) || p <= f.bodyStart || q >= f.bodyEnd || p+len(f.close) > s.end {
		return cutAt{}, false
	}
	if len(f.reopen)+len(f.close)+utf8.UTFMax > s.max {
		return cutAt{}, false
	}
	return cutAt{p: p, q: q, close: f.close, reopen: f.reopen}, true
}

// blank reports whether a part ending at p would hold no text.
func (s *splitter) blank(p int) bool {
	return p <= s.start || strings.TrimSpace(s.text[s.start:p]) == ""
}

func (s *splitter) fenceAround(p int) *fence {
	for i := range s.fences {
		if f := &s.fences[i]; p > f.openStart && p < max(f.closeEnd, f.bodyStart) {
			return f
		}
	}
	return nil
}
