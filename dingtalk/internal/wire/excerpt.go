package wire

import (
	"bytes"
	"strings"
	"unicode"

	"picoclaw/internal/text"
)

// Excerpt turns an untrusted answer body into one short line for an error
// or a log: invalid UTF-8 replaced, tags stripped, control characters and
// runs of space collapsed to one space, secrets masked (text.Redact), at
// most n bytes (text.Snippet). Masking comes before cutting, so a secret
// cut in half at the end cannot slip through.
func Excerpt(raw []byte, n int, secrets ...string) string {
	t := StripTags(string(bytes.ToValidUTF8(raw, []byte("?"))))
	t = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, t)
	t = strings.Join(strings.Fields(t), " ")
	return text.Snippet(text.Redact(t, secrets...), n)
}
