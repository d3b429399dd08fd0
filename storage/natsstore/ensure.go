package natsstore

import (
	"context"
	"errors"
	"time"
)

// layoutAttempt bounds one create or look-up of a stream or bucket. In a
// cluster, a create that races another gateway's create of the same
// stream can go unanswered; the next attempt finds the stream made.
const layoutAttempt = 2 * time.Second

// retryLayout runs op in attempts of layoutAttempt until it succeeds, fails
// for a reason other than a timeout, or ctx ends.
func retryLayout[T any](ctx context.Context, op func(ctx context.Context) (T, error)) (T, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, layoutAttempt)
		v, err := op(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return v, err
		}
	}
}
