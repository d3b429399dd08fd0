package text

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 3, "hel"},
		{"中文字", 4, "中"}, // 3 bytes each: the second does not fit
		{"中文字", 6, "中文"},
		{"中", 2, ""},
		{"abc", 0, ""},
		{"abc", -1, ""},
	}
	for _, tt := range tests {
		if got := Truncate(tt.s, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestBoundary(t *testing.T) {
	s := "a中b" // a at 0, 中 at 1-3, b at 4
	for i, want := range map[int]int{0: 0, 1: 1, 2: 1, 3: 1, 4: 4, 5: 5, 9: 5, -3: 0} {
		if got := Boundary(s, i); got != want {
			t.Errorf("Boundary(%q, %d) = %d, want %d", s, i, got, want)
		}
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("a", 299) + "é" + strings.Repeat("b", 10) // é spans bytes 299-300
	tests := []struct{ name, s, want string }{
		{"trimmed", "  overloaded \n", "overloaded"},
		{"300 bytes kept", strings.Repeat("x", 300), strings.Repeat("x", 300)},
		{"cut at 300", strings.Repeat("x", 301), strings.Repeat("x", 300) + "…"},
		{"cut before a split rune", long, strings.Repeat("a", 299) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Snippet(tt.s, 300); got != tt.want || !utf8.ValidString(got) {
				t.Errorf("Snippet = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		s       string
		secrets []string
		want    string
	}{
		{"Incorrect API key provided: sk-abc.", []string{"sk-abc"}, "Incorrect API key provided: [redacted]."},
		{"sk-abc and sk-abc", []string{"sk-abc"}, "[redacted] and [redacted]"},
		{"ticket t1 and secret s2", []string{"t1", "", "s2"}, "ticket [redacted] and secret [redacted]"},
		{"no key here", []string{"sk-abc"}, "no key here"},
		{"empty key changes nothing", []string{""}, "empty key changes nothing"},
	}
	for _, tt := range tests {
		if got := Redact(tt.s, tt.secrets...); got != tt.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", tt.s, tt.secrets, got, tt.want)
		}
	}
}

// FuzzTruncate checks that a cut never splits a character nor exceeds its
// budget, whatever the input.
func FuzzTruncate(f *testing.F) {
	for _, s := range []string{"", "hello", "中文字", "a\xffb", "🙂🙂"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := Truncate(s, n)
		if len(got) > max(n, 0) && len(s) > n {
			t.Fatalf("Truncate(%q, %d) = %q: over budget", s, n, got)
		}
		if !strings.HasPrefix(s, got) {
			t.Fatalf("Truncate(%q, %d) = %q: not a prefix", s, n, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Truncate(%q, %d) = %q: split a character", s, n, got)
		}
	})
}

func TestTruncateRunes(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"}, {"hello", 5, "hello"}, {"hello", 2, "he"},
		{"中文字", 2, "中文"}, {"中文字", 0, ""}, {"", 3, ""}, {"a\xffb", 2, "a\xff"},
	}
	for _, tt := range tests {
		if got := TruncateRunes(tt.s, tt.n); got != tt.want {
			t.Errorf("TruncateRunes(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestSnippetRunes(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"  hello  ", 10, "hello"}, {"hello", 5, "hello"}, {"hello", 2, "he…"},
		{" 钉钉开放 ", 2, "钉钉…"}, {"", 3, ""},
	}
	for _, tt := range tests {
		if got := SnippetRunes(tt.s, tt.n); got != tt.want {
			t.Errorf("SnippetRunes(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}
