package picoclaw

import (
	"context"
	"sync/atomic"
)

// TurnRetries is how many model requests one turn may repeat after
// failures, all layers together: the agent's own retries, the fallback
// models (model_fallbacks) and the next API key after a refused one. Each
// layer alone is modest, but they multiply: three agent attempts of a
// two-model pool with two keys each made one 429 into twelve requests.
// With one budget per turn, a failure costs at most TurnRetries more.
const TurnRetries = 2

type retryBudgetKey struct{}

// WithRetryBudget returns ctx carrying a budget of n retries shared by
// everything done under it (the agent gives each turn one).
func WithRetryBudget(ctx context.Context, n int) context.Context {
	b := new(atomic.Int64)
	b.Store(int64(n))
	return context.WithValue(ctx, retryBudgetKey{}, b)
}

// SpendRetry reports whether a layer may repeat a failed request (retry,
// fall back, try another key), and counts the retry against ctx's budget.
// Without a budget in ctx every retry is allowed: the layer's own limit is
// the only one.
func SpendRetry(ctx context.Context) bool {
	b, ok := ctx.Value(retryBudgetKey{}).(*atomic.Int64)
	if !ok {
		return true
	}
	return b.Add(-1) >= 0
}
