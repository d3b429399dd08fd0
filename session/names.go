package session

import (
	"fmt"
	"strings"

	"picoclaw"
)

// File names are the session key with every byte outside [A-Za-z0-9._-]
// percent-encoded, except ':' (the key separator) which becomes '~' so that
// names stay readable: "dingtalk:group:cidAbC+/x==" is stored as
// "dingtalk~group~cidAbC%2B%2Fx%3D%3D.jsonl". A literal '~' is encoded as
// %7E, so the mapping is reversible. A leading '.' is encoded too, so no
// name is hidden or special ("." and "..").

const (
	fileExt    = ".jsonl"
	archiveExt = ".jsonl.bak"
	// maxNameLen keeps names (plus the archive suffix) under the common
	// 255-byte file name limit.
	maxNameLen = 200
)

func isPlain(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// encodeKey returns the file name stem for key.
func encodeKey(key picoclaw.SessionKey) (string, error) {
	if key == "" {
		return "", fmt.Errorf("session: empty session key")
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(key) + 8)
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == ':':
			b.WriteByte('~')
		case isPlain(c) && !(i == 0 && c == '.'):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xF])
		}
	}
	if b.Len() > maxNameLen {
		return "", fmt.Errorf("session: session key too long (%d bytes encoded, max %d)", b.Len(), maxNameLen)
	}
	return b.String(), nil
}

// decodeKey reverses encodeKey; it rejects names encodeKey cannot produce.
func decodeKey(name string) (picoclaw.SessionKey, error) {
	if name == "" {
		return "", fmt.Errorf("session: decode file name: empty")
	}
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '~':
			b.WriteByte(':')
		case c == '%':
			if i+2 >= len(name) {
				return "", fmt.Errorf("session: decode file name %q: truncated escape", name)
			}
			hi, ok1 := unhex(name[i+1])
			lo, ok2 := unhex(name[i+2])
			if !ok1 || !ok2 {
				return "", fmt.Errorf("session: decode file name %q: bad escape", name)
			}
			b.WriteByte(hi<<4 | lo)
			i += 2
		case isPlain(c):
			b.WriteByte(c)
		default:
			return "", fmt.Errorf("session: decode file name %q: unexpected byte %q", name, c)
		}
	}
	return picoclaw.SessionKey(b.String()), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}
