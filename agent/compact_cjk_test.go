package agent

import (
	"strings"
	"testing"
	"unicode"
)

// TestIsCJKMatchesUnicodeTables checks the fast paths of isCJK against the
// definition it replaced, for every code point.
func TestIsCJKMatchesUnicodeTables(t *testing.T) {
	want := func(r rune) bool {
		return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
			(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF)
	}
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if got := isCJK(r); got != want(r) {
			t.Fatalf("isCJK(%U) = %v, want %v", r, got, !got)
		}
	}
}

func TestBytesPerTokenCountsCharacters(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{"ascii", "hello world", 4},
		{"cjk", "你好世界", 3},
		{"one third cjk", "你ab", 3},
		{"under a third", "你abc", 4},
		{"kana and hangul", "かなカナ한국", 3},
		{"accented latin is not cjk", strings.Repeat("é", 9) + "你", 4},
		{"invalid bytes count as characters", "\xff\xfe你", 3},
		{"invalid bytes dilute", "\xff\xfe\xfd\xfc你", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bytesPerToken(tt.text); got != tt.want {
				t.Errorf("bytesPerToken(%q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}
