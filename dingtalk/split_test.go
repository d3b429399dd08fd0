package dingtalk

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkSplit verifies split's contract on text: every part fits and is
// valid UTF-8, added fence lines come in close/reopen pairs, and the
// parts cover the whole text in order, losing only whitespace at cuts.
func checkSplit(t *testing.T, text string, maxBytes int) []string {
	t.Helper()
	pieces := splitPieces(text, maxBytes)
	parts := split(text, maxBytes)
	if len(parts) != len(pieces) {
		t.Fatalf("Split gave %d parts, splitPieces %d", len(parts), len(pieces))
	}
	prev := 0
	for i, p := range pieces {
		part := parts[i]
		if part != p.prefix+text[p.start:p.end]+p.suffix {
			t.Fatalf("part %d is not prefix+text+suffix", i)
		}
		if len(part) > maxBytes {
			t.Errorf("part %d has %d bytes, max %d", i, len(part), maxBytes)
		}
		if !utf8.ValidString(part) {
			t.Errorf("part %d is not valid UTF-8 (a character was cut)", i)
		}
		if strings.TrimSpace(part) == "" {
			t.Errorf("part %d is blank", i)
		}
		if gap := text[prev:p.start]; strings.TrimSpace(gap) != "" {
			t.Fatalf("text between parts %d and %d was lost: %q", i-1, i, gap)
		}
		if p.end < p.start {
			t.Fatalf("part %d: end %d before start %d", i, p.end, p.start)
		}
		closed := i > 0 && pieces[i-1].suffix != ""
		if closed != (p.prefix != "") {
			t.Errorf("part %d: prefix %q after suffix %q", i, p.prefix, pieces[max(i-1, 0)].suffix)
		}
		if p.suffix != "" && !strings.HasPrefix(p.suffix, "\n```") {
			t.Errorf("part %d: suffix %q is not a fence close", i, p.suffix)
		}
		if p.prefix != "" && (!strings.HasPrefix(p.prefix, "```") || !strings.HasSuffix(p.prefix, "\n")) {
			t.Errorf("part %d: prefix %q is not a fence line", i, p.prefix)
		}
		prev = p.end
	}
	if rest := text[prev:]; strings.TrimSpace(rest) != "" {
		t.Fatalf("text after the last part was lost: %d bytes", len(rest))
	}
	// Black-box check: the parts, fence additions removed, hold every
	// non-space character of the text in order.
	var joined strings.Builder
	for i, part := range parts {
		part = strings.TrimPrefix(part, pieces[i].prefix)
		part = strings.TrimSuffix(part, pieces[i].suffix)
		joined.WriteString(part)
	}
	if got, want := dropSpace(joined.String()), dropSpace(text); got != want {
		t.Fatalf("joined parts differ from the text (besides whitespace): %d vs %d bytes", len(got), len(want))
	}
	return parts
}

func dropSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func TestSplitShortText(t *testing.T) {
	for _, text := range []string{"hi", "  lead and trail  ", "中文", "```go\nx\n```"} {
		parts := checkSplit(t, text, 100)
		if len(parts) != 1 || parts[0] != text {
			t.Errorf("Split(%q) = %q, want the text unchanged", text, parts)
		}
	}
	if parts := split(" \n\t ", 10); parts != nil {
		t.Errorf("Split(blank) = %q, want nil", parts)
	}
}

func TestSplitPreferences(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		max   int
		first string
	}{
		{"paragraph over line", "aaaa aaaa\nbbbb\n\ncccc dddd eeee", 24, "aaaa aaaa\nbbbb"},
		{"line over space", "aaaa aaaa\nbbbb cccc dddd", 18, "aaaa aaaa"},
		{"space over rune", "aaaa bbbb cccccccc", 12, "aaaa bbbb"},
		{"rune when no space", "abcdefghijklmnop", 10, "abcdefghij"},
		{"Chinese never cut inside a character", "一二三四五六七八九十", 10, "一二三"},
		{"emoji never cut", "😀😀😀😀😀", 9, "😀😀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := checkSplit(t, tt.text, tt.max)
			if parts[0] != tt.first {
				t.Errorf("first part = %q, want %q (all: %q)", parts[0], tt.first, parts)
			}
		})
	}
}

func TestSplitProperties(t *testing.T) {
	longAnswer := strings.Repeat("这是一个很长的回答，包含中文和 English words, 还有emoji 😀🚀。\n", 1100) // ~45k runes
	if n := utf8.RuneCountInString(longAnswer); n < 45000 {
		t.Fatalf("long answer has %d runes", n)
	}
	tests := []struct {
		name string
		text string
		max  int
	}{
		{"ascii words", strings.Repeat("lorem ipsum dolor sit amet ", 2000), 1000},
		{"ascii paragraphs", strings.Repeat("para one line\nline two\n\n", 500), 700},
		{"chinese", strings.Repeat("中文内容没有空格", 3000), 1000},
		{"emoji", strings.Repeat("😀🎉👍🏽", 3000), 999},
		{"long line no spaces", strings.Repeat("x", 50000), maxReplyBytes},
		{"45k character answer", longAnswer, maxReplyBytes},
		{"45k character answer, small parts", longAnswer, 500},
		{"tiny max", "héllo wörld 😀 done", 1},
		{"many newlines", strings.Repeat("\n", 100) + "x" + strings.Repeat("\n\n\n", 100) + "y", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := checkSplit(t, tt.text, max(tt.max, utf8.UTFMax))
			if len(tt.text) > tt.max && len(parts) < 2 {
				t.Errorf("%d bytes with max %d gave %d parts", len(tt.text), tt.max, len(parts))
			}
		})
	}
}

func TestSplitCodeFences(t *testing.T) {
	var code strings.Builder
	for i := range 400 {
		fmt.Fprintf(&code, "    fmt.Println(\"line %d 中文\")\n", i)
	}
	fenced := "Intro paragraph.\n\n```go\nfunc main() {\n" + code.String() + "}\n```\n\nAfter the code."
	t.Run("long fence is closed and reopened", func(t *testing.T) {
		parts := checkSplit(t, fenced, 4000)
		if len(parts) < 3 {
			t.Fatalf("got %d parts", len(parts))
		}
		for i, p := range parts {
			if strings.Count(p, "```")%2 != 0 {
				t.Errorf("part %d has unbalanced fences:\n%s", i, p)
			}
			if i > 0 && i < len(parts)-1 && !strings.HasPrefix(p, "```go\n") {
				t.Errorf("part %d does not reopen the fence with its info string: %.40q", i, p)
			}
		}
		if !strings.HasPrefix(parts[0], "Intro paragraph.\n\n```go\n") {
			t.Errorf("first part = %.60q, want the intro and the fence's start", parts[0])
		}
		if !strings.HasSuffix(parts[len(parts)-1], "After the code.") {
			t.Errorf("last part = %.60q", parts[len(parts)-1])
		}
	})
	t.Run("cut lands on a line boundary inside the fence", func(t *testing.T) {
		for i, p := range checkSplit(t, fenced, 4000) {
			for _, line := range strings.Split(p, "\n") {
				if strings.HasPrefix(line, "    fmt.") && !strings.HasSuffix(line, "中文\")") {
					t.Errorf("part %d cuts a code line: %q", i, line)
				}
			}
		}
	})
	t.Run("fence that fits is not cut", func(t *testing.T) {
		text := strings.Repeat("word ", 150) + "\n\n```\nshort code\n```\n" + strings.Repeat("more ", 150)
		for i, p := range checkSplit(t, text, 800) {
			if strings.Count(p, "```")%2 != 0 {
				t.Errorf("part %d cuts the short fence: %q", i, p)
			}
		}
	})
	t.Run("fence that fits a part of its own is moved whole", func(t *testing.T) {
		text := "Intro.\n\n```go\n" + strings.Repeat("x := 1\n", 200) + "```\n\nOutro."
		parts := checkSplit(t, text, 1410) // the fence is 1409 bytes
		if len(parts) != 3 || parts[0] != "Intro." || !strings.HasPrefix(parts[1], "```go\n") ||
			!strings.HasSuffix(parts[1], "\n```") || strings.Count(parts[1], "```") != 2 || parts[2] != "Outro." {
			t.Errorf("parts = %.80q, want the intro, the whole fence, the outro", parts)
		}
	})
	t.Run("fence of one long line", func(t *testing.T) {
		checkSplit(t, "```\n"+strings.Repeat("y", 3000)+"\n```", 1000)
	})
	t.Run("unclosed fence", func(t *testing.T) {
		parts := checkSplit(t, "```python\n"+strings.Repeat("print(1)\n", 300), 500)
		if !strings.HasPrefix(parts[1], "```python\n") {
			t.Errorf("second part = %.30q, want the fence reopened", parts[1])
		}
	})
	t.Run("four-backtick fence closes with four", func(t *testing.T) {
		parts := checkSplit(t, "````md\n"+strings.Repeat("```\ninner\n```\n", 100), 300)
		if !strings.HasSuffix(parts[0], "\n````") {
			t.Errorf("first part ends %q", parts[0][len(parts[0])-10:])
		}
	})
}

func BenchmarkSplit(b *testing.B) {
	text := strings.Repeat("这是一个很长的回答，包含中文和 English words。\n```go\nx := 1\n```\n", 1500)
	for b.Loop() {
		split(text, maxReplyBytes)
	}
}

// TestSplitRandom checks the contract on many random texts built from
// the pieces that make splitting hard.
func TestSplitRandom(t *testing.T) {
	atoms := []string{"a", "word ", " ", "\n", "\n\n", "中", "😀", "é", "```", "```go\n", "\n```\n", "\t", "````"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		var b strings.Builder
		for range rng.IntN(300) {
			b.WriteString(atoms[rng.IntN(len(atoms))])
		}
		text, maxBytes := b.String(), 4+rng.IntN(60)
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkSplit(t, text, maxBytes) })
	}
}

func FuzzSplit(f *testing.F) {
	f.Add("hello world\n\n```go\ncode\n```\n中文😀", 10)
	f.Fuzz(func(t *testing.T, text string, maxBytes int) {
		if !utf8.ValidString(text) || maxBytes < utf8.UTFMax || maxBytes > 1000 {
			t.Skip()
		}
		checkSplit(t, text, maxBytes)
	})
}
