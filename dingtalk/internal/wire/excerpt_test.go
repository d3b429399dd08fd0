package wire

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		n    int
		want string
	}{
		{"plain", "bad request", 100, "bad request"},
		{"html page", "<html><body><h1>502 Bad Gateway</h1>\r\n<hr>nginx</body></html>", 100, "502 Bad Gateway nginx"},
		{"controls and tabs", "a\x00b\tc\u0085d\x7fe", 100, "a b c d e"},
		{"invalid utf-8", "ok\xffok", 100, "ok?ok"},
		{"secrets masked", "token tok123 and secret s3cr3t", 100, "token [redacted] and secret [redacted]"},
		{"cut on a character", "ab钉钉", 4, "ab…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Excerpt([]byte(tt.raw), tt.n, "tok123", "s3cr3t", "")
			if got != tt.want || !utf8.ValidString(got) {
				t.Errorf("Excerpt(%q, %d) = %q, want %q", tt.raw, tt.n, got, tt.want)
			}
		})
	}
}

// A secret straddling the cut is masked before the cut, so no prefix of it
// survives.
func TestExcerptMasksBeforeCutting(t *testing.T) {
	secret := "SECRETVALUE123"
	got := Excerpt([]byte("x "+secret), 8, secret)
	if strings.Contains(got, "SECRET") {
		t.Errorf("Excerpt = %q, leaks part of the secret", got)
	}
}
