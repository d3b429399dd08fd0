package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// sendLog records which sends ran and when, in the order they ran.
type sendLog struct {
	mu    sync.Mutex
	names []string
	times []time.Time
}

// send returns an fn that logs name at the current (fake) time.
func (s *sendLog) send(name string) func(context.Context) error {
	return func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.names = append(s.names, name)
		s.times = append(s.times, time.Now())
		return nil
	}
}

func (s *sendLog) snapshot() ([]string, []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.names), slices.Clone(s.times)
}

// newTestLimiter builds a limiter inside the current synctest bubble.
func newTestLimiter(t *testing.T, cfg chatLimiterConfig) *chatLimiter {
	t.Helper()
	l := newChatLimiter(cfg)
	t.Cleanup(l.Close)
	return l
}

// goDo starts Do in a goroutine and waits until it has run or queued, so
// successive goDo calls reach the limiter in the order they were made.
func goDo(ctx context.Context, l *chatLimiter, key string, fns ...func(context.Context) error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- l.Do(ctx, key, fns...) }()
	synctest.Wait()
	return done
}

// gate returns an fn that blocks until the returned release is called.
func gate(log *sendLog, name string) (fn func(context.Context) error, release func()) {
	ch := make(chan struct{})
	return func(ctx context.Context) error {
		<-ch
		return log.send(name)(ctx)
	}, func() { close(ch) }
}

// waitDo waits for a Do started by goDo. The bound is in fake time: a Do
// stuck for good fails the test instead of hanging it.
func waitDo(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(24 * time.Hour):
		t.Fatal("Do still blocked after a day")
		return nil
	}
}

// recvErr returns the result of a Do that must already have returned.
func recvErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	default:
		t.Fatal("Do has not returned")
		return nil
	}
}

func TestChatLimiterBurstKeepsOrderAndWindow(t *testing.T) {
	tests := []struct {
		name      string
		perWindow int
		window    time.Duration
		sends     int
	}{
		{name: "defaults, 30 sends", sends: 30},
		{name: "3 per 10s, 10 sends", perWindow: 3, window: 10 * time.Second, sends: 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newTestLimiter(t, chatLimiterConfig{PerWindow: tc.perWindow, Window: tc.window})
				per, window := tc.perWindow, tc.window
				if per == 0 {
					per, window = defaultChatPerWindow, defaultChatWindow
				}
				var log sendLog
				start := time.Now()
				var dones []<-chan error
				for i := range tc.sends {
					dones = append(dones, goDo(t.Context(), l, "group", log.send(strconv.Itoa(i))))
				}
				for _, d := range dones {
					if err := waitDo(t, d); err != nil {
						t.Fatalf("Do: %v", err)
					}
				}
				names, times := log.snapshot()
				if len(names) != tc.sends {
					t.Fatalf("%d sends ran, want %d", len(names), tc.sends)
				}
				for i, n := range names {
					if n != strconv.Itoa(i) {
						t.Fatalf("send order %v, want 0..%d", names, tc.sends-1)
					}
				}
				// Half-open windows [t, t+window): send i+per must not be
				// earlier than send i plus the window.
				for i := 0; i+per < len(times); i++ {
					if gap := times[i+per].Sub(times[i]); gap < window {
						t.Errorf("sends %d and %d are %v apart: %d sends inside %v", i, i+per, gap, per+1, window)
					}
				}
				// The first PerWindow go at once; the limiter adds no needless delay.
				if got := times[per-1].Sub(start); got != 0 {
					t.Errorf("send %d delayed by %v, want none", per-1, got)
				}
				if got := times[per].Sub(start); got != window {
					t.Errorf("send %d after %v, want %v", per, got, window)
				}
			})
		})
	}
}

func TestChatLimiterKeysIndependent(t *testing.T) {
	tests := []struct {
		name string
		// block leaves key "a" unable to send and returns what unblocks it.
		block func(t *testing.T, l *chatLimiter, log *sendLog) (unblock func())
	}{
		{
			name: "a's window is full",
			block: func(t *testing.T, l *chatLimiter, log *sendLog) func() {
				for i := range defaultChatPerWindow {
					if err := l.Do(t.Context(), "a", log.send("a"+strconv.Itoa(i))); err != nil {
						t.Fatalf("Do: %v", err)
					}
				}
				return func() { time.Sleep(defaultChatWindow) }
			},
		},
		{
			name: "a's send is in flight",
			block: func(t *testing.T, l *chatLimiter, log *sendLog) func() {
				fn, release := gate(log, "a-slow")
				goDo(t.Context(), l, "a", fn)
				return release
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newTestLimiter(t, chatLimiterConfig{})
				var log sendLog
				unblock := tc.block(t, l, &log)
				aDone := goDo(t.Context(), l, "a", log.send("a-next"))
				start := time.Now()
				if err := l.Do(t.Context(), "b", log.send("b")); err != nil {
					t.Fatalf("Do b: %v", err)
				}
				if time.Since(start) != 0 {
					t.Errorf("b waited %v behind a", time.Since(start))
				}
				names, _ := log.snapshot()
				if slices.Contains(names, "a-next") {
					t.Fatalf("a-next ran before a was unblocked: %v", names)
				}
				unblock()
				if err := waitDo(t, aDone); err != nil {
					t.Fatalf("Do a-next: %v", err)
				}
				if names, _ = log.snapshot(); names[len(names)-1] != "a-next" {
					t.Errorf("last send %q, want a-next", names[len(names)-1])
				}
			})
		})
	}
}

func TestChatLimiterBatchContiguous(t *testing.T) {
	tests := []struct {
		name      string
		perWindow int // small values make the batch wait for the window mid-way
	}{
		{name: "window never full", perWindow: 100},
		{name: "batch spans window waits", perWindow: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newTestLimiter(t, chatLimiterConfig{PerWindow: tc.perWindow})
				var log sendLog
				first, release := gate(&log, "x0")
				x := goDo(t.Context(), l, "c", first, log.send("x1"), log.send("x2"))
				y := goDo(t.Context(), l, "c", log.send("y"))
				z := goDo(t.Context(), l, "c", log.send("z0"), log.send("z1"), log.send("z2"))
				w := goDo(t.Context(), l, "c", log.send("w"))
				release()
				for _, d := range []<-chan error{x, y, z, w} {
					if err := waitDo(t, d); err != nil {
						t.Fatalf("Do: %v", err)
					}
				}
				names, _ := log.snapshot()
				want := []string{"x0", "x1", "x2", "y", "z0", "z1", "z2", "w"}
				if !slices.Equal(names, want) {
					t.Errorf("sends %v, want %v", names, want)
				}
			})
		})
	}
}

func TestChatLimiterFailingFnFreesChat(t *testing.T) {
	boom := errors.New("errcode 460101")
	tests := []struct {
		name    string
		fail    func(context.Context) error
		wantErr error
	}{
		{name: "error stops the batch", fail: func(context.Context) error { return boom }, wantErr: boom},
		{name: "panic", fail: func(context.Context) error { panic("fn bug") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newTestLimiter(t, chatLimiterConfig{})
				var log sendLog
				var err error
				func() {
					defer func() { _ = recover() }()
					err = l.Do(t.Context(), "k", log.send("p0"), tc.fail, log.send("p2"))
				}()
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Do error %v, want %v", err, tc.wantErr)
				}
				if err := l.Do(t.Context(), "k", log.send("next")); err != nil {
					t.Fatalf("Do after failed batch: %v", err)
				}
				if names, _ := log.snapshot(); !slices.Equal(names, []string{"p0", "next"}) {
					t.Errorf("sends %v, want [p0 next]", names)
				}
			})
		})
	}
}

func TestChatLimiterCancelQueuedWaiter(t *testing.T) {
	tests := []struct {
		name string
		// hold makes the next Do on "k" wait and returns what lets it go on.
		hold      func(t *testing.T, l *chatLimiter, log *sendLog) (release func())
		perWindow int
	}{
		{
			name: "behind an in-flight send",
			hold: func(t *testing.T, l *chatLimiter, log *sendLog) func() {
				fn, release := gate(log, "holder")
				goDo(t.Context(), l, "k", fn)
				return release
			},
		},
		{
			name:      "waiting for the window",
			perWindow: 1,
			hold: func(t *testing.T, l *chatLimiter, log *sendLog) func() {
				if err := l.Do(t.Context(), "k", log.send("holder")); err != nil {
					t.Fatalf("Do: %v", err)
				}
				return func() { time.Sleep(defaultChatWindow) }
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newTestLimiter(t, chatLimiterConfig{PerWindow: tc.perWindow})
				var log sendLog
				release := tc.hold(t, l, &log)
				ctx, cancel := context.WithCancel(t.Context())
				cancelled := goDo(ctx, l, "k", log.send("cancelled"))
				after := goDo(t.Context(), l, "k", log.send("after"))
				cancel()
				synctest.Wait()
				if err := recvErr(t, cancelled); !errors.Is(err, context.Canceled) {
					t.Fatalf("cancelled Do returned %v, want context.Canceled", err)
				}
				release()
				if err := waitDo(t, after); err != nil {
					t.Fatalf("Do after: %v", err)
				}
				if names, _ := log.snapshot(); !slices.Equal(names, []string{"holder", "after"}) {
					t.Errorf("sends %v, want [holder after]", names)
				}
			})
		})
	}
}

// A waiter whose ctx ends just as its turn comes must pass the turn on.
// Which of the two it sees first is up to the scheduler, so try many times.
func TestChatLimiterCancelRacesGrant(t *testing.T) {
	for i := range 200 {
		synctest.Test(t, func(t *testing.T) {
			l := newTestLimiter(t, chatLimiterConfig{})
			var log sendLog
			ctx, cancel := context.WithCancel(t.Context())
			ch := make(chan struct{})
			holder := goDo(t.Context(), l, "k", func(context.Context) error {
				<-ch
				cancel() // the waiter's ctx ends as the holder releases
				return nil
			})
			racer := goDo(ctx, l, "k", log.send("racer"))
			after := goDo(t.Context(), l, "k", log.send("after"))
			close(ch)
			for _, d := range []<-chan error{holder, after} {
				if err := waitDo(t, d); err != nil {
					t.Fatalf("run %d: Do: %v", i, err)
				}
			}
			err := waitDo(t, racer)
			names, _ := log.snapshot()
			if err == nil && !slices.Equal(names, []string{"racer", "after"}) ||
				err != nil && !slices.Equal(names, []string{"after"}) {
				t.Fatalf("run %d: racer returned %v, sends %v", i, err, names)
			}
		})
	}
}

func TestChatLimiterPenalize(t *testing.T) {
	tests := []struct {
		name      string
		perWindow int
		// penalizeAt > 0: the second send is already waiting when the
		// penalty comes this long after the first; else it comes first.
		penalizeAt time.Duration
		penalty    time.Duration
		wantNext   time.Duration // second send, from the first
	}{
		{name: "delays an otherwise free send", penalty: 30 * time.Second, wantNext: 30 * time.Second},
		{name: "extends a window wait in progress", perWindow: 1, penalizeAt: 10 * time.Second, penalty: 2 * time.Minute, wantNext: 130 * time.Second},
		{name: "shorter than the window changes nothing", perWindow: 1, penalty: 5 * time.Second, wantNext: time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newTestLimiter(t, chatLimiterConfig{PerWindow: tc.perWindow})
				var log sendLog
				if err := l.Do(t.Context(), "k", log.send("first")); err != nil {
					t.Fatalf("Do: %v", err)
				}
				if tc.penalizeAt == 0 {
					l.Penalize("k", tc.penalty)
				}
				next := goDo(t.Context(), l, "k", log.send("second"))
				if tc.penalizeAt > 0 {
					time.Sleep(tc.penalizeAt)
					l.Penalize("k", tc.penalty)
				}
				if err := waitDo(t, next); err != nil {
					t.Fatalf("Do: %v", err)
				}
				_, times := log.snapshot()
				if got := times[1].Sub(times[0]); got != tc.wantNext {
					t.Errorf("second send %v after the first, want %v", got, tc.wantNext)
				}
			})
		})
	}
}

func TestChatLimiterIdleCleanup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = 5 * time.Minute
		l := newTestLimiter(t, chatLimiterConfig{IdleTimeout: idle})
		var log sendLog
		for _, k := range []string{"a", "b", "c"} {
			if err := l.Do(t.Context(), k, log.send(k)); err != nil {
				t.Fatalf("Do: %v", err)
			}
		}
		l.Penalize("penalized", 30*time.Minute)
		fn, release := gate(&log, "busy")
		busy := goDo(t.Context(), l, "busy", fn)

		time.Sleep(idle - time.Second)
		synctest.Wait()
		if n := l.chatCount(); n != 5 {
			t.Fatalf("%d chats before the idle timeout, want 5", n)
		}
		time.Sleep(idle + 2*time.Second) // at most two sweeps drop an idle chat
		synctest.Wait()
		if got := l.chatKeys(); !slices.Equal(got, []string{"busy", "penalized"}) {
			t.Fatalf("chats left %v, want [busy penalized]", got)
		}
		release()
		if err := waitDo(t, busy); err != nil {
			t.Fatalf("Do: %v", err)
		}
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		if n := l.chatCount(); n != 0 {
			t.Fatalf("%d chats after all went idle, want 0", n)
		}
		// A dropped chat starts afresh.
		if err := l.Do(t.Context(), "a", log.send("a again")); err != nil {
			t.Fatalf("Do: %v", err)
		}
	})
}

func TestChatLimiterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newChatLimiter(chatLimiterConfig{PerWindow: 1})
		var log sendLog
		// "slow" holds its chat through Close; "queued" waits behind it.
		slowFn, release := gate(&log, "slow")
		slow := goDo(t.Context(), l, "held", slowFn)
		queued := goDo(t.Context(), l, "held", log.send("queued"))
		// "sleeping" waits for a full window on another chat.
		if err := l.Do(t.Context(), "full", log.send("first")); err != nil {
			t.Fatalf("Do: %v", err)
		}
		sleeping := goDo(t.Context(), l, "full", log.send("sleeping"))
		l.Close()
		synctest.Wait()
		for name, d := range map[string]<-chan error{"sleeping": sleeping, "queued": queued} {
			if err := recvErr(t, d); !errors.Is(err, errChatLimiterClosed) {
				t.Errorf("%s Do returned %v, want ErrChatLimiterClosed", name, err)
			}
		}
		if err := l.Do(t.Context(), "other", log.send("late")); !errors.Is(err, errChatLimiterClosed) {
			t.Errorf("Do after Close returned %v, want ErrChatLimiterClosed", err)
		}
		release() // a running fn is not interrupted
		if err := waitDo(t, slow); err != nil {
			t.Errorf("in-flight Do returned %v, want nil", err)
		}
		if names, _ := log.snapshot(); !slices.Equal(names, []string{"first", "slow"}) {
			t.Errorf("sends %v, want [first slow]", names)
		}
	})
}

// chatCount and chatKeys expose the limiter's state to tests.
func (l *chatLimiter) chatCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.chats)
}

func (l *chatLimiter) chatKeys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys := make([]string, 0, len(l.chats))
	for k := range l.chats {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func BenchmarkChatLimiterDo(b *testing.B) {
	// A window of a nanosecond keeps every chat open, so this measures the
	// limiter's own bookkeeping.
	l := newChatLimiter(chatLimiterConfig{Window: time.Nanosecond})
	b.Cleanup(l.Close)
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("cid%d", i)
	}
	fn := func(context.Context) error { return nil }
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := l.Do(ctx, keys[i%len(keys)], fn); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			// Each goroutine owns a stripe of keys: many chats, no queueing.
			i := int(next.Add(1)) * 1000
			for pb.Next() {
				if err := l.Do(ctx, keys[i%len(keys)], fn); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
}
