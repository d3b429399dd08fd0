package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
)

func inboundFor(chat string, n int) picoclaw.Inbound {
	return picoclaw.Inbound{
		Channel:   "dingtalk",
		Chat:      picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: chat},
		MessageID: fmt.Sprintf("%s-%d", chat, n),
		Text:      fmt.Sprint(n),
	}
}

func mustShutdown(t *testing.T, d *Dispatcher) {
	t.Helper()
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestDispatcherOrderWithinKey(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	d := NewDispatcher(func(_ context.Context, in picoclaw.Inbound) {
		mu.Lock()
		defer mu.Unlock()
		got[in.Chat.ID] = append(got[in.Chat.ID], in.Text)
	}, DispatcherOptions{MaxConcurrent: 4})
	want := map[string][]string{}
	for i := range 20 {
		for _, chat := range []string{"a", "b", "c"} {
			if !d.Dispatch(inboundFor(chat, i)) {
				t.Fatalf("Dispatch(%s %d) = false", chat, i)
			}
			want[chat] = append(want[chat], fmt.Sprint(i))
		}
	}
	mustShutdown(t, d)
	for chat, w := range want {
		if !slices.Equal(got[chat], w) {
			t.Errorf("chat %s processed %q, want %q", chat, got[chat], w)
		}
	}
	if n := d.Pending(); n != 0 {
		t.Errorf("Pending after Shutdown = %d, want 0", n)
	}
}

func TestDispatcherSlowChatDoesNotBlockOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		bDone := make(chan struct{})
		d := NewDispatcher(func(_ context.Context, in picoclaw.Inbound) {
			switch in.Chat.ID {
			case "a":
				<-release
			case "b":
				close(bDone)
			}
		}, DispatcherOptions{MaxConcurrent: 2})
		d.Dispatch(inboundFor("a", 0))
		synctest.Wait() // a's turn is running and blocked
		d.Dispatch(inboundFor("b", 0))
		<-bDone         // would deadlock (and synctest report it) if b waited for a
		synctest.Wait() // b's worker has finished its bookkeeping
		if n := d.Pending(); n != 1 {
			t.Errorf("Pending = %d, want 1 (a still running)", n)
		}
		close(release)
		mustShutdown(t, d)
	})
}

func TestDispatcherMaxConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, chats = 2, 5
		var running, peak atomic.Int32
		release := make(chan struct{})
		d := NewDispatcher(func(context.Context, picoclaw.Inbound) {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			running.Add(-1)
		}, DispatcherOptions{MaxConcurrent: limit})
		for i := range chats {
			d.Dispatch(inboundFor(fmt.Sprint("chat", i), 0))
		}
		synctest.Wait() // everyone is either in a turn or waiting for a slot
		if n := running.Load(); n != limit {
			t.Errorf("running = %d, want %d", n, limit)
		}
		if n := d.Pending(); n != chats {
			t.Errorf("Pending = %d, want %d", n, chats)
		}
		close(release)
		mustShutdown(t, d)
		if p := peak.Load(); p != limit {
			t.Errorf("peak concurrency = %d, want %d", p, limit)
		}
	})
}

func TestDispatcherQueueFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		d := NewDispatcher(func(context.Context, picoclaw.Inbound) { <-release }, DispatcherOptions{QueueLen: 2})
		if !d.Dispatch(inboundFor("a", 0)) {
			t.Fatal("first Dispatch = false")
		}
		synctest.Wait() // the first message is running, not queued
		for i := 1; i <= 2; i++ {
			if !d.Dispatch(inboundFor("a", i)) {
				t.Fatalf("Dispatch %d = false, want it queued", i)
			}
		}
		if d.Dispatch(inboundFor("a", 3)) {
			t.Error("Dispatch to a full queue = true, want false")
		}
		if !d.Dispatch(inboundFor("b", 0)) {
			t.Error("Dispatch to another chat = false, want true")
		}
		if n := d.Pending(); n != 4 {
			t.Errorf("Pending = %d, want 4", n)
		}
		close(release)
		mustShutdown(t, d)
	})
}

func TestDispatcherShutdownWaitsForTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var finished atomic.Int32
		d := NewDispatcher(func(ctx context.Context, _ picoclaw.Inbound) {
			<-release
			if ctx.Err() == nil {
				finished.Add(1)
			}
		}, DispatcherOptions{})
		d.Dispatch(inboundFor("a", 0))
		d.Dispatch(inboundFor("a", 1)) // queued behind the first
		done := make(chan error)
		go func() { done <- d.Shutdown(context.Background()) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v while a turn was running", err)
		default:
		}
		if d.Dispatch(inboundFor("b", 0)) {
			t.Error("Dispatch during Shutdown = true, want false")
		}
		close(release)
		if err := <-done; err != nil {
			t.Errorf("Shutdown = %v, want nil", err)
		}
		if n := finished.Load(); n != 2 {
			t.Errorf("%d turns finished uncancelled, want 2 (running and queued)", n)
		}
		if d.Dispatch(inboundFor("a", 2)) {
			t.Error("Dispatch after Shutdown = true, want false")
		}
	})
}

func TestDispatcherShutdownDeadlineCancelsTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var started, cancelled atomic.Int32
		d := NewDispatcher(func(ctx context.Context, _ picoclaw.Inbound) {
			started.Add(1)
			<-ctx.Done()
			cancelled.Add(1)
		}, DispatcherOptions{MaxConcurrent: 1})
		d.Dispatch(inboundFor("a", 0))
		d.Dispatch(inboundFor("a", 1)) // queued behind a's first turn
		d.Dispatch(inboundFor("b", 0)) // waiting for the only slot

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		err := d.Shutdown(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
		}
		if waited := time.Since(start); waited != 30*time.Second {
			t.Errorf("Shutdown returned after %s, want the 30s deadline", waited)
		}
		if s, c := started.Load(), cancelled.Load(); s != 1 || c != 1 {
			t.Errorf("started %d, cancelled %d turns; want 1, 1 (queued ones dropped)", s, c)
		}
		if n := d.Pending(); n != 0 {
			t.Errorf("Pending = %d, want 0", n)
		}
	})
}

func TestDispatcherSurvivesPanickingTurn(t *testing.T) {
	logs := &logBuffer{}
	var ran atomic.Int32
	d := NewDispatcher(func(_ context.Context, in picoclaw.Inbound) {
		if in.Text == "0" {
			panic("boom")
		}
		ran.Add(1)
	}, DispatcherOptions{Logger: logs.logger()})
	d.Dispatch(inboundFor("a", 0))
	d.Dispatch(inboundFor("a", 1))
	mustShutdown(t, d)
	if ran.Load() != 1 {
		t.Error("the turn after a panic did not run")
	}
	if errs := logs.errorRecords(t); len(errs) != 1 || errs[0]["panic"] != "boom" {
		t.Errorf("error logs %v, want the panic", errs)
	}
}

func TestDispatcherStopDropsTurnWaitingForSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var ran []string
		var mu sync.Mutex
		stops := make(chan bool, 2)
		d := NewDispatcher(func(_ context.Context, in picoclaw.Inbound) {
			mu.Lock()
			ran = append(ran, in.Chat.ID)
			mu.Unlock()
			if in.Chat.ID == "a" {
				<-release
			}
		}, DispatcherOptions{
			MaxConcurrent: 1,
			IsStop:        func(in picoclaw.Inbound) bool { return in.Text == "stop" },
			OnStop:        func(_ context.Context, _ picoclaw.Inbound, stopped bool) { stops <- stopped },
		})
		d.Dispatch(inboundFor("a", 0))
		synctest.Wait() // a holds the only slot
		d.Dispatch(inboundFor("b", 0))
		synctest.Wait() // b waits for the slot
		stop := inboundFor("b", 1)
		stop.Text = "stop"
		if !d.Dispatch(stop) {
			t.Fatal("Dispatch(stop) = false")
		}
		if !<-stops {
			t.Error("OnStop stopped = false, want true for the waiting turn")
		}
		if d.Cancel("dingtalk:direct:nobody") {
			t.Error("Cancel of an idle key = true")
		}
		close(release)
		mustShutdown(t, d)
		if !slices.Equal(ran, []string{"a"}) {
			t.Errorf("turns run: %q, want only a (b was stopped before it began)", ran)
		}
	})
}

// A turn that ignores its cancelled context (a tool stuck in a system
// call) does not hold Shutdown past its deadline plus AbandonAfter.
func TestDispatcherShutdownAbandonsStuckTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stuck := make(chan struct{})
		defer close(stuck)
		started := make(chan struct{})
		d := NewDispatcher(func(context.Context, picoclaw.Inbound) {
			close(started)
			<-stuck // deaf to ctx
		}, DispatcherOptions{AbandonAfter: 2 * time.Second})
		d.Dispatch(inboundFor("a", 0))
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		err := d.Shutdown(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "1 turns still running") {
			t.Errorf("Shutdown = %v, want DeadlineExceeded naming the stuck turn", err)
		}
		if waited := time.Since(start); waited != 22*time.Second {
			t.Errorf("Shutdown returned after %s, want deadline + AbandonAfter = 22s", waited)
		}
	})
}
