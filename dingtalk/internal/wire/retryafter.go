package wire

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter caps a Retry-After: a peer asking for hours is not obeyed
// blindly (the outbox's own backoff still applies on top).
const maxRetryAfter = 10 * time.Minute

// RetryAfter reads a Retry-After header (delay-seconds or an HTTP date,
// RFC 9110 §10.2.3) as a duration from now; zero when absent or unparsable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(min(secs, int(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}
