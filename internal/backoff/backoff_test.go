package backoff

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

func TestNextGrowsWithinJitterBounds(t *testing.T) {
	tests := []struct {
		name string
		b    *Backoff
		want []time.Duration // the un-jittered delay for each attempt
	}{
		{
			name: "doubling capped",
			b:    &Backoff{Min: 10 * time.Millisecond, Max: 80 * time.Millisecond, Factor: 2},
			want: []time.Duration{10, 20, 40, 80, 80, 80},
		},
		{
			name: "factor three",
			b:    &Backoff{Min: 1 * time.Millisecond, Max: 100 * time.Millisecond, Factor: 3},
			want: []time.Duration{1, 3, 9, 27, 81, 100, 100},
		},
		{
			name: "defaults",
			b:    &Backoff{},
			want: []time.Duration{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000},
		},
		{
			name: "max below min",
			b:    &Backoff{Min: 50 * time.Millisecond, Max: 10 * time.Millisecond},
			want: []time.Duration{50, 50},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, ms := range tt.want {
				d := ms * time.Millisecond
				got := tt.b.Next()
				if got < d/2 || got > d {
					t.Fatalf("attempt %d: Next() = %v, want within [%v, %v]", i, got, d/2, d)
				}
			}
		})
	}
}

func TestResetStartsOver(t *testing.T) {
	b := &Backoff{Min: 10 * time.Millisecond, Max: time.Second}
	for range 5 {
		b.Next()
	}
	b.Reset()
	if got := b.Next(); got > 10*time.Millisecond {
		t.Fatalf("Next() after Reset = %v, want ≤ 10ms", got)
	}
}

func TestNextNeverOverflows(t *testing.T) {
	b := &Backoff{Min: time.Nanosecond, Max: time.Hour, Factor: math.MaxFloat64}
	for i := range 10_000 {
		if got := b.Next(); got <= 0 || got > time.Hour {
			t.Fatalf("attempt %d: Next() = %v, want in (0, 1h]", i, got)
		}
	}
}

func TestJitterVaries(t *testing.T) {
	// With equal jitter over a 1s range, 50 identical draws are practically
	// impossible; identical values mean the jitter is gone.
	seen := map[time.Duration]bool{}
	for range 50 {
		b := &Backoff{Min: time.Second, Max: time.Second}
		seen[b.Next()] = true
	}
	if len(seen) < 2 {
		t.Fatalf("50 draws gave %d distinct delays, want jitter", len(seen))
	}
}

func TestCeiling(t *testing.T) {
	tests := []struct {
		name string
		b    *Backoff
		want time.Duration
	}{
		{"default", &Backoff{}, DefaultMax},
		{"set", &Backoff{Max: 5 * time.Second}, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Ceiling(); got != tt.want {
				t.Fatalf("Ceiling() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWait(t *testing.T) {
	t.Run("returns nil after the delay", func(t *testing.T) {
		b := &Backoff{Min: time.Millisecond, Max: time.Millisecond}
		if err := b.Wait(context.Background()); err != nil {
			t.Fatalf("Wait() = %v, want nil", err)
		}
	})
	t.Run("cancelled context interrupts", func(t *testing.T) {
		b := &Backoff{Min: time.Hour, Max: time.Hour}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- b.Wait(ctx) }()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait() = %v, want context.Canceled", err)
		}
	})
	t.Run("already ended context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
			t.Fatalf("Sleep(ended, 0) = %v, want context.Canceled", err)
		}
	})
}
