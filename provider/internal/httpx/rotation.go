package httpx

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"picoclaw"
)

// Rotation hands out API keys in turn, one HTTP request each; Do runs a
// request with them. It is safe for concurrent use.
type Rotation struct {
	name    string // the provider, for log lines: "openai"
	keys    []string
	timeout time.Duration
	log     *slog.Logger
	next    atomic.Uint64
}

// DefaultTimeout bounds a request when no timeout is configured.
const DefaultTimeout = 120 * time.Second

// NewRotation returns a rotation over keys; with none it uses one empty
// key, for servers without authentication. timeout (0 → DefaultTimeout)
// bounds each Do; log (nil → discard) gets a warning per refused key.
func NewRotation(name string, keys []string, timeout time.Duration, log *slog.Logger) *Rotation {
	r := &Rotation{name: name, keys: append([]string(nil), keys...), timeout: timeout, log: log}
	if len(r.keys) == 0 {
		r.keys = []string{""}
	}
	if r.timeout <= 0 {
		r.timeout = DefaultTimeout
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r
}

// Do runs attempt with r's next key under r's timeout. If the key is
// refused (the attempt's HTTP status is 429, 401 or 403; 0 when no answer
// came) and there is another, it runs attempt once more with that one, if
// ctx's retry budget allows (picoclaw.SpendRetry).
// The error is ctx's own if ctx ended, picoclaw.ErrTemporary wrapping
// context.DeadlineExceeded if the timeout did, else attempt's last. model
// only labels log lines.
func Do[T any](ctx context.Context, r *Rotation, model string,
	attempt func(ctx context.Context, key string) (T, int, error)) (T, error) {
	tctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	attempts := min(len(r.keys), 2)
	keyIdx := -1
	for a := 0; ; a++ {
		keyIdx = r.nextKey(keyIdx)
		res, status, err := attempt(tctx, r.keys[keyIdx])
		if err == nil {
			return res, nil
		}
		var zero T
		if ctx.Err() != nil {
			return zero, ctx.Err()
		}
		if tctx.Err() != nil {
			return zero, fmt.Errorf("%w: no answer within %s: %w", picoclaw.ErrTemporary, r.timeout, tctx.Err())
		}
		if a+1 < attempts && keyRefused(status) && picoclaw.SpendRetry(ctx) {
			r.log.Warn(r.name+": key refused, trying the next one", "model", model, "status", status, "key_index", keyIdx)
			continue
		}
		return zero, err
	}
}

// nextKey picks the key for the next HTTP request: keys are used in turn,
// and a retry never reuses the key that was just refused (prev, or -1).
func (r *Rotation) nextKey(prev int) int {
	n := uint64(len(r.keys))
	i := int((r.next.Add(1) - 1) % n)
	if i == prev {
		i = (prev + 1) % len(r.keys)
	}
	return i
}

// keyRefused reports whether another key might get a different answer to
// a request answered with status.
func keyRefused(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusUnauthorized || status == http.StatusForbidden
}
