package toolcall

import "testing"

func TestArgs(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty is no arguments", "  ", `{}`},
		{"JSON kept as sent", ` {"city": "Paris"} `, `{"city": "Paris"}`},
		{"cut off text becomes a JSON string", `{"city": "Pa`, `"{\"city\": \"Pa"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Args(tt.in)); got != tt.want {
				t.Errorf("Args(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}
