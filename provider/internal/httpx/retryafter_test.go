package httpx

import (
	"net/http"
	"testing"
	"testing/synctest"
	"time"
)

func TestRetryAfter(t *testing.T) {
	// In a synctest bubble the clock starts at 2000-01-01 00:00:00 UTC.
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"missing", "", 0},
		{"seconds", "3", 3 * time.Second},
		{"fractional seconds", "1.5", 1500 * time.Millisecond},
		{"zero", "0", 0},
		{"negative", "-2", 0},
		{"HTTP date", "Sat, 01 Jan 2000 00:00:30 GMT", 30 * time.Second},
		{"past HTTP date", "Fri, 31 Dec 1999 23:59:00 GMT", 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := http.Header{}
				if tt.value != "" {
					h.Set("Retry-After", tt.value)
				}
				if got := RetryAfter(h); got != tt.want {
					t.Errorf("RetryAfter(%q) = %s, want %s", tt.value, got, tt.want)
				}
			})
		})
	}
}
