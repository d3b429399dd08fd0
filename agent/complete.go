package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"picoclaw"
	"picoclaw/internal/backoff"
)

// maxRetryAfter caps how long a rate limit's Retry-After is honoured; a
// longer wait would leave the user staring at nothing.
const maxRetryAfter = 10 * time.Second

// complete makes one model call, retrying retryable failures (temporary
// errors, rate limits) after the delays in a.retryDelays, while the turn's
// retry budget (picoclaw.SpendRetry) lasts: the pool's fallbacks and the
// providers' next-key retries draw on the same budget.
func (a *Agent) complete(ctx context.Context, req picoclaw.Request) (*picoclaw.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := a.completeCapped(ctx, req)
		if err == nil && resp == nil {
			err = fmt.Errorf("agent: provider returned no response: %w", picoclaw.ErrBadResponse)
		}
		if err == nil {
			return resp, nil
		}
		if !picoclaw.IsRetryable(err) || attempt >= len(a.retryDelays) || ctx.Err() != nil || !picoclaw.SpendRetry(ctx) {
			return nil, err
		}
		wait := a.retryDelays[attempt]
		var rl *picoclaw.RateLimitError
		if errors.As(err, &rl) && rl.RetryAfter > wait {
			wait = min(rl.RetryAfter, maxRetryAfter)
		}
		a.log.Warn("agent: model call failed; retrying", "attempt", attempt+1, "wait", wait, "err", err)
		if sink := streamSinkFrom(ctx); sink != nil {
			sink.Round("") // the next call streams its reply from the start
		}
		if backoff.Sleep(ctx, wait) != nil {
			return nil, fmt.Errorf("%w (retry abandoned: %w)", err, context.Cause(ctx))
		}
	}
}
