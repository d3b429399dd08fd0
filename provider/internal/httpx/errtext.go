package httpx

import "strings"

// maxErrText bounds the server text quoted in an error.
const maxErrText = 300

// Redact removes key from s: servers echo (part of) a bad key in their
// error text, and keys must never reach logs or error strings.
func Redact(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[redacted]")
}

// Excerpt trims server text for quoting in an error: at most 300 bytes,
// cut at the start of a UTF-8 sequence and marked with "…" when cut.
func Excerpt(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxErrText {
		return s
	}
	cut := maxErrText
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not the start of a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
