package text

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis marks a snippet that was cut.
const Ellipsis = "…"

// RedactedMark replaces a secret in text.
const RedactedMark = "[redacted]"

// Boundary returns the largest index ≤ i that starts a UTF-8 sequence in
// s (len(s) when i ≥ len(s), 0 when i ≤ 0): where s may be cut at or
// before i without splitting a character.
func Boundary(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return max(i, 0)
}

// Truncate returns at most n bytes of s, cut before a character that
// would not fit, so valid UTF-8 stays valid.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:Boundary(s, n)]
}

// Snippet is s for quoting in an error or a log line: trimmed of
// surrounding space and, past n bytes, truncated and marked with
// Ellipsis.
func Snippet(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return Truncate(s, n) + Ellipsis
}

// Redact replaces every occurrence of each non-empty secret in s with
// RedactedMark. Servers echo (parts of) keys and tokens in their error
// text; secrets must never reach logs or error strings.
func Redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, RedactedMark)
		}
	}
	return s
}

// TruncateRunes returns the first n characters (runes) of s.
func TruncateRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// SnippetRunes is Snippet counted in characters rather than bytes, for
// text shown to people or the model (a quote, a name, a title): trimmed
// of surrounding space and, past n characters, cut and marked with
// Ellipsis.
func SnippetRunes(s string, n int) string {
	s = strings.TrimSpace(s)
	if cut := TruncateRunes(s, n); len(cut) < len(s) {
		return cut + Ellipsis
	}
	return s
}
