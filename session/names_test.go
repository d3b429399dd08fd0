package session

import (
	"strings"
	"testing"

	"picoclaw"
)

func TestEncodeKey(t *testing.T) {
	tests := []struct {
		key  picoclaw.SessionKey
		want string
	}{
		{"dingtalk:direct:0123", "dingtalk~direct~0123"},
		{"dingtalk:group:cidAbC+/x==", "dingtalk~group~cidAbC%2B%2Fx%3D%3D"},
		{"a~b%c", "a%7Eb%25c"},
		{"..", "%2E."},
		{".hidden", "%2Ehidden"},
		{"x/../../etc", "x%2F..%2F..%2Fetc"},
		{"中文", "%E4%B8%AD%E6%96%87"},
		{"Case:case", "Case~case"},
	}
	for _, tt := range tests {
		t.Run(string(tt.key), func(t *testing.T) {
			got, err := encodeKey(tt.key)
			if err != nil {
				t.Fatalf("encodeKey(%q): %v", tt.key, err)
			}
			if got != tt.want {
				t.Errorf("encodeKey(%q) = %q, want %q", tt.key, got, tt.want)
			}
			back, err := decodeKey(got)
			if err != nil {
				t.Fatalf("decodeKey(%q): %v", got, err)
			}
			if back != tt.key {
				t.Errorf("decodeKey(%q) = %q, want %q", got, back, tt.key)
			}
		})
	}
}

func TestEncodeKeyRejects(t *testing.T) {
	tests := []struct {
		name string
		key  picoclaw.SessionKey
	}{
		{"empty", ""},
		{"too long", picoclaw.SessionKey(strings.Repeat("/", maxNameLen))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := encodeKey(tt.key); err == nil {
				t.Errorf("encodeKey(%q) = %q, want error", tt.key, got)
			}
		})
	}
}

func TestDecodeKeyRejects(t *testing.T) {
	for _, name := range []string{"", "a%2", "a%zz", "a b", "a:b", "a+b"} {
		t.Run(name, func(t *testing.T) {
			if got, err := decodeKey(name); err == nil {
				t.Errorf("decodeKey(%q) = %q, want error", name, got)
			}
		})
	}
}

func FuzzKeyRoundTrip(f *testing.F) {
	f.Add("dingtalk:group:cidAbC+/x==")
	f.Add("~%:.")
	f.Fuzz(func(t *testing.T, s string) {
		name, err := encodeKey(picoclaw.SessionKey(s))
		if err != nil {
			return
		}
		for i := 0; i < len(name); i++ {
			if !isPlain(name[i]) && name[i] != '%' && name[i] != '~' {
				t.Fatalf("encodeKey(%q) = %q has unsafe byte %q", s, name, name[i])
			}
		}
		if name[0] == '.' {
			t.Fatalf("encodeKey(%q) = %q starts with a dot", s, name)
		}
		back, err := decodeKey(name)
		if err != nil || string(back) != s {
			t.Fatalf("round trip %q -> %q -> %q, %v", s, name, back, err)
		}
	})
}
