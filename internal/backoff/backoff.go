package backoff

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"time"
)

// Defaults used for zero fields.
const (
	DefaultMin    = time.Second
	DefaultMax    = 60 * time.Second
	DefaultFactor = 2.0
)

// Backoff yields exponentially growing delays with "equal jitter": each
// delay is picked at random in [d/2, d], where d = Min·Factor^attempt capped
// at Max. Half the delay is kept so that a failing peer is never retried in a
// hot loop, and the random half spreads out clients that failed together.
//
// Zero fields take the defaults (1s, 60s, 2). A Backoff is safe for
// concurrent use; use it through a pointer.
type Backoff struct {
	Min, Max time.Duration
	Factor   float64

	mu      sync.Mutex
	attempt int
}

// Next returns the delay before the next attempt and advances the sequence.
func (b *Backoff) Next() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	lo, hi, f := b.params()
	d := float64(lo) * math.Pow(f, float64(b.attempt))
	capped := math.IsInf(d, 0) || math.IsNaN(d) || d >= float64(hi)
	if capped {
		d = float64(hi)
	} else {
		// Stop counting once capped so attempt never overflows.
		b.attempt++
	}
	return jitter(time.Duration(d))
}

// Reset starts the sequence again from Min, after a success.
func (b *Backoff) Reset() {
	b.mu.Lock()
	b.attempt = 0
	b.mu.Unlock()
}

// Ceiling returns the effective cap (Max, or its default).
func (b *Backoff) Ceiling() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, hi, _ := b.params()
	return hi
}

// Wait sleeps for Next() unless ctx ends first, in which case it returns
// ctx.Err().
func (b *Backoff) Wait(ctx context.Context) error {
	return Sleep(ctx, b.Next())
}

// Sleep waits for d unless ctx ends first, in which case it returns
// ctx.Err(). A non-positive d still reports an already-ended ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// params returns Min, Max and Factor with defaults applied; Max is never
// below Min. Callers hold b.mu.
func (b *Backoff) params() (lo, hi time.Duration, f float64) {
	lo, hi, f = b.Min, b.Max, b.Factor
	if lo <= 0 {
		lo = DefaultMin
	}
	if hi <= 0 {
		hi = DefaultMax
	}
	if hi < lo {
		hi = lo
	}
	if f <= 1 || math.IsNaN(f) || math.IsInf(f, 0) {
		f = DefaultFactor
	}
	return lo, hi, f
}

// jitter picks a duration uniformly in [d/2, d].
func jitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(d-half+1)
}
