package picoclaw

import (
	"context"
	"slices"
	"testing"
)

func TestSpendRetry(t *testing.T) {
	if !SpendRetry(context.Background()) {
		t.Error("SpendRetry without a budget = false, want every retry allowed")
	}
	ctx := WithRetryBudget(context.Background(), 2)
	got := []bool{SpendRetry(ctx), SpendRetry(ctx), SpendRetry(ctx), SpendRetry(ctx)}
	if want := []bool{true, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("SpendRetry with a budget of 2 = %v, want %v", got, want)
	}
}
