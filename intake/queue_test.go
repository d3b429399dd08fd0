package intake

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
)

// memQueue is a shared journal whose owner side is fed by the test: the
// messages one gateway accepts may be run by another.
type memQueue struct {
	mu       sync.Mutex
	accepted []picoclaw.Inbound
	done     []string
	feed     chan picoclaw.Inbound
	handed   chan struct{} // one per message dispatch has returned for
	failing  int           // Accepts that fail before one succeeds
	down     bool          // every Accept fails (NATS unreachable)
	refuse   string        // this message id is refused for good
	stored   chan string   // message ids stored, if set
}

func (q *memQueue) setDown(down bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.down = down
}

func (q *memQueue) ids() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ids []string
	for _, in := range q.accepted {
		ids = append(ids, in.MessageID)
	}
	return ids
}

func (q *memQueue) Accept(in picoclaw.Inbound) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.down {
		return false, errors.New("nats: no responders available for request")
	}
	if in.MessageID == q.refuse {
		return false, refusal{errors.New("nats: maximum payload exceeded")}
	}
	if q.failing > 0 {
		q.failing--
		return false, errors.New("nats: no responders available for request")
	}
	if q.stored != nil {
		defer func() { q.stored <- in.MessageID }()
	}
	for _, a := range q.accepted {
		if a.MessageID == in.MessageID {
			return false, nil
		}
	}
	q.accepted = append(q.accepted, in)
	return true, nil
}
func (q *memQueue) Pending() []picoclaw.Inbound { return nil }
func (q *memQueue) Done(id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.done = append(q.done, id)
	return nil
}
func (q *memQueue) Attempt(string) (int, error)               { return 1, nil }
func (q *memQueue) Release(string) error                      { return nil }
func (q *memQueue) DeadLetter(picoclaw.Inbound, string) error { return nil }
func (q *memQueue) Run(ctx context.Context, dispatch func(picoclaw.Inbound) bool) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case in := <-q.feed:
			dispatch(in)
			q.handed <- struct{}{}
		}
	}
}

// TestSharedQueueDispatchesOnlyWhatThisGatewayOwns: with a shared
// journal, accepting a message stores it and nothing more; the turn runs
// where the queue hands it over, and a full chat there still gets the
// busy answer and is marked done.
func TestSharedQueueDispatchesOnlyWhatThisGatewayOwns(t *testing.T) {
	q := &memQueue{feed: make(chan picoclaw.Inbound), handed: make(chan struct{}, 3)}
	d := &fakeDispatcher{}
	sent := make(chan picoclaw.Outbound, 1)
	adopted := make(chan string, 3)
	k, err := New(Config{Journal: q, Send: func(_ context.Context, out picoclaw.Outbound) error { sent <- out; return nil },
		Adopt: func(in picoclaw.Inbound) { adopted <- in.MessageID }})
	if err != nil {
		t.Fatal(err)
	}
	k.Attach(d)
	t.Cleanup(k.Close)
	k.Accept(message("m1"))
	k.Accept(message("m1"))
	if d.count() != 0 || len(q.accepted) != 1 {
		t.Fatalf("accept: dispatched %d, stored %d; want 0 dispatched, 1 stored", d.count(), len(q.accepted))
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- k.Run(ctx) }()
	q.feed <- message("m1")
	q.feed <- message("m2") // accepted by another gateway
	<-q.handed
	<-q.handed
	if d.count() != 2 {
		t.Fatalf("run: dispatched %d, want 2", d.count())
	}
	d.mu.Lock()
	d.full = true
	d.mu.Unlock()
	q.feed <- message("m3")
	<-q.handed
	if out := <-sent; out.Text != BusyText || out.ReplyTo != "m3" {
		t.Fatalf("full chat: sent %+v, want the busy answer to m3", out)
	}
	cancel()
	<-ran
	close(adopted)
	var ids []string
	for id := range adopted {
		ids = append(ids, id)
	}
	if len(ids) != 3 || ids[0] != "m1" || ids[2] != "m3" {
		t.Fatalf("adopted %v, want m1 m2 m3 (every message handed over, before its dispatch)", ids)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.done) != 1 || q.done[0] != "m3" {
		t.Fatalf("done = %v, want [m3] (the refused one)", q.done)
	}
}

// TestRunReturnsAtOnceWithoutSharedQueue: the files journal has no owner
// loop; Run must not block the gateway.
func TestRunReturnsAtOnceWithoutSharedQueue(t *testing.T) {
	k := newIntake(t, openBox(t, t.TempDir()), &fakeDispatcher{}, func(context.Context, picoclaw.Outbound) error { return nil })
	if err := k.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSharedQueueRetriesAStoreThatFailed: when NATS cannot take a message
// (its frame is acked by then), the gateway keeps trying in the
// background; it never answers the message itself, around the chat's
// owner.
func TestSharedQueueRetriesAStoreThatFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &memQueue{failing: 3, stored: make(chan string, 1)}
		d := &fakeDispatcher{}
		k := newIntake(t, q, d, nil)
		k.Accept(message("m1"))
		if id := <-q.stored; id != "m1" || d.count() != 0 {
			t.Fatalf("stored %q, dispatched %d; want m1 stored after retries, nothing dispatched here", id, d.count())
		}
	})
}

// TestSharedQueueOutageKeepsMessagesOnDisk: a message NATS cannot take
// within the patience is journaled on this gateway's disk before its
// frame is acked, later ones join it without waiting, a restart during
// the outage keeps them, and once NATS takes messages again they reach
// it in the order they came.
func TestSharedQueueOutageKeepsMessagesOnDisk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		q := &memQueue{down: true, stored: make(chan string, 4)}
		spillBox := openBox(t, dir)
		k, err := New(Config{Journal: q, Spill: spillBox, Send: func(context.Context, picoclaw.Outbound) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		d := &fakeDispatcher{}
		k.Attach(d)
		start := time.Now()
		k.Accept(message("m1"))
		if waited := time.Since(start); waited < sharedPatience {
			t.Fatalf("gave up storing m1 after %v, want the %v patience first", waited, sharedPatience)
		}
		start = time.Now()
		k.Accept(message("m2"))
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("m2 waited %v behind m1, want at once onto the disk", waited)
		}
		// A stop during the outage: both are on disk, not in NATS.
		k.Close()
		if err := spillBox.Close(); err != nil {
			t.Fatal(err)
		}
		if got := q.ids(); len(got) != 0 || d.count() != 0 {
			t.Fatalf("during the outage: stored %v, dispatched %d; want nothing stored, nothing answered here", got, d.count())
		}

		q.setDown(false)
		spillBox = openBox(t, dir)
		defer spillBox.Close()
		if n := len(spillBox.Pending()); n != 2 {
			t.Fatalf("after the restart %d messages on disk, want 2", n)
		}
		k2, err := New(Config{Journal: q, Spill: spillBox, Send: func(context.Context, picoclaw.Outbound) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		k2.Attach(d)
		defer k2.Close()
		for _, want := range []string{"m1", "m2"} {
			if id := <-q.stored; id != want {
				t.Fatalf("forwarded %q, want %q (in the order they came)", id, want)
			}
		}
		synctest.Wait()
		if n := len(spillBox.Pending()); n != 0 || d.count() != 0 {
			t.Fatalf("after forwarding: %d still on disk, %d dispatched here; want 0 and 0", n, d.count())
		}
		// Back to normal: a new message goes straight to NATS.
		k2.Accept(message("m3"))
		if id := <-q.stored; id != "m3" || len(spillBox.Pending()) != 0 {
			t.Fatalf("after the outage: stored %q, %d on disk; want m3 straight to NATS", id, len(spillBox.Pending()))
		}
	})
}

type refusal struct{ error }

func (refusal) Refused() bool { return true }

// TestSpillSetsAsideAMessageTheQueueRefuses: a message kept on disk that
// the queue answers no to (too large) is set aside with the reason after
// a few tries, and the messages behind it are forwarded, not held for good.
func TestSpillSetsAsideAMessageTheQueueRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := &memQueue{down: true, refuse: "m1", stored: make(chan string, 4)}
		spillBox := openBox(t, t.TempDir())
		defer spillBox.Close()
		k, err := New(Config{Journal: q, Spill: spillBox, Send: func(context.Context, picoclaw.Outbound) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		k.Attach(&fakeDispatcher{})
		defer k.Close()
		k.Accept(message("m1"))
		k.Accept(message("m2"))
		// More failed forwards while NATS is still down than it takes to
		// set a refused message aside: the refusal after them still does.
		time.Sleep(time.Minute)
		q.setDown(false)
		if id := <-q.stored; id != "m2" {
			t.Fatalf("forwarded %q, want m2 (m1 refused for good)", id)
		}
		synctest.Wait()
		if n := len(spillBox.Pending()); n != 0 {
			t.Fatalf("%d messages still on disk, want 0 (m1 set aside, m2 forwarded)", n)
		}
	})
}
