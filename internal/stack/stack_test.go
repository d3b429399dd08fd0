package stack

import (
	"sync"
	"testing"
)

// deep recurses n frames of about 256 bytes each, as a turn's calls do.
//
//go:noinline
func deep(n int) byte {
	var pad [256]byte
	if n == 0 {
		return pad[0]
	}
	pad[n%len(pad)] = byte(n)
	return deep(n-1) + pad[(n+1)%len(pad)]
}

// TestGrowKeepsDeepCallsWorking: a goroutine that grew first still runs
// calls deeper than its new stack (the runtime grows it further).
func TestGrowKeepsDeepCallsWorking(t *testing.T) {
	var wg sync.WaitGroup
	wg.Go(func() {
		Grow()
		deep(1000) // ~256 KiB, past the 32 KiB Grow asks for
	})
	wg.Wait()
}

// BenchmarkGoroutine compares a fresh goroutine running ~24 KiB deep with
// and without Grow (go test -bench . ./internal/stack).
func BenchmarkGoroutine(b *testing.B) {
	for _, grow := range []bool{false, true} {
		name := "plain"
		if grow {
			name = "grow"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				done := make(chan struct{})
				go func() {
					if grow {
						Grow()
					}
					deep(90)
					close(done)
				}()
				<-done
			}
		})
	}
}
