package httpx

import (
	"net/http"
	"strconv"
	"time"
)

// RetryAfter reads the Retry-After header: seconds, or an HTTP date. It
// returns 0 when the header is missing, unreadable or not in the future.
func RetryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
