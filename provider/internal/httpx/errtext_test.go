package httpx

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedact(t *testing.T) {
	tests := []struct{ s, key, want string }{
		{"Incorrect API key provided: sk-abc.", "sk-abc", "Incorrect API key provided: [redacted]."},
		{"sk-abc and sk-abc", "sk-abc", "[redacted] and [redacted]"},
		{"no key here", "sk-abc", "no key here"},
		{"empty key changes nothing", "", "empty key changes nothing"},
	}
	for _, tt := range tests {
		if got := Redact(tt.s, tt.key); got != tt.want {
			t.Errorf("Redact(%q, %q) = %q, want %q", tt.s, tt.key, got, tt.want)
		}
	}
}

func TestExcerpt(t *testing.T) {
	long := strings.Repeat("a", 299) + "é" + strings.Repeat("b", 10) // é spans bytes 299-300
	tests := []struct{ name, s, want string }{
		{"trimmed", "  overloaded \n", "overloaded"},
		{"300 bytes kept", strings.Repeat("x", 300), strings.Repeat("x", 300)},
		{"cut at 300", strings.Repeat("x", 301), strings.Repeat("x", 300) + "…"},
		{"cut before a split rune", long, strings.Repeat("a", 299) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Excerpt(tt.s)
			if got != tt.want || !utf8.ValidString(got) {
				t.Errorf("Excerpt = %q, want %q", got, tt.want)
			}
		})
	}
}
