package picoclaw

import (
	"errors"
	"fmt"
	"time"
)

// Error kinds. Wrap them (fmt.Errorf("…: %w: %w", ErrTemporary, err)) so
// that retry policy is decided with errors.Is, never by matching strings.
var (
	// ErrTemporary: a timeout, a 5xx, a dropped connection; retrying may help.
	ErrTemporary = errors.New("temporary failure")
	// ErrAuth: credentials were refused; retrying will not help.
	ErrAuth = errors.New("authentication failed")
	// ErrContextLength: the request did not fit the model's context window.
	ErrContextLength = errors.New("context length exceeded")
	// ErrBadResponse: the peer answered something that could not be parsed.
	ErrBadResponse = errors.New("malformed response")
)

// RateLimitError reports a 429 or throttling answer.
type RateLimitError struct {
	RetryAfter time.Duration // zero when the peer did not say
	Err        error
}

func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("rate limited (retry after %s): %v", e.RetryAfter, e.Err)
	}
	return fmt.Sprintf("rate limited: %v", e.Err)
}

func (e *RateLimitError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is worth retrying.
func IsRetryable(err error) bool {
	var rl *RateLimitError
	return errors.Is(err, ErrTemporary) || errors.As(err, &rl)
}
