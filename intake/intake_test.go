package intake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/agent"
	"picoclaw/inbox"
)

// fakeDispatcher records what it is given; full refuses everything.
type fakeDispatcher struct {
	mu   sync.Mutex
	got  []picoclaw.Inbound
	full bool
	// at runs inside Dispatch, before it returns.
	at func(in picoclaw.Inbound)
}

func (d *fakeDispatcher) Dispatch(in picoclaw.Inbound) bool {
	if d.at != nil {
		d.at(in)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.full {
		return false
	}
	d.got = append(d.got, in)
	return true
}

func (d *fakeDispatcher) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.got)
}

func message(id string) picoclaw.Inbound {
	return picoclaw.Inbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"},
		SenderID: "0123", MessageID: id, Text: "hello"}
}

func openBox(t *testing.T, dir string) *inbox.Inbox {
	t.Helper()
	box, err := inbox.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func newIntake(t *testing.T, box Journal, d Dispatcher, send func(context.Context, picoclaw.Outbound) error) *Intake {
	t.Helper()
	if send == nil {
		send = func(context.Context, picoclaw.Outbound) error { return nil }
	}
	k, err := New(Config{Journal: box, Send: send})
	if err != nil {
		t.Fatal(err)
	}
	k.Attach(d)
	t.Cleanup(k.Close)
	return k
}

// restart closes box (a clean stop) and opens the journal again.
func restart(t *testing.T, box *inbox.Inbox, dir string) *inbox.Inbox {
	t.Helper()
	if err := box.Close(); err != nil {
		t.Fatal(err)
	}
	box = openBox(t, dir)
	t.Cleanup(func() { box.Close() })
	return box
}

func pendingIDs(box Journal) []string {
	var ids []string
	for _, in := range box.Pending() {
		ids = append(ids, in.MessageID)
	}
	return ids
}

// The message is on disk before Accept returns (so before the frame is
// acked) and before it is dispatched: a crash right after the ack loses
// nothing.
func TestAcceptJournalsBeforeReturning(t *testing.T) {
	dir := t.TempDir()
	box := openBox(t, dir)
	t.Cleanup(func() { box.Close() })
	d := &fakeDispatcher{}
	d.at = func(in picoclaw.Inbound) {
		if !slices.Contains(pendingIDs(box), in.MessageID) {
			t.Errorf("%s dispatched before it was journalled", in.MessageID)
		}
	}
	k := newIntake(t, box, d, nil)
	k.Accept(message("m1"))
	// A second process reading the journal now (as after kill -9) sees it.
	crashed := openBox(t, dir)
	defer crashed.Close()
	if got := pendingIDs(crashed); !slices.Equal(got, []string{"m1"}) {
		t.Errorf("journal after Accept returned: pending %v, want [m1]", got)
	}
	if d.count() != 1 {
		t.Errorf("dispatched %d times, want 1", d.count())
	}
}

// DingTalk redelivers a message whose ack it missed: it is answered once,
// whether the redelivery comes at once or after a restart.
func TestRedeliveryIsNeverDispatchedTwice(t *testing.T) {
	dir := t.TempDir()
	box := openBox(t, dir)
	d := &fakeDispatcher{}
	k := newIntake(t, box, d, nil)
	k.Accept(message("m1"))
	k.Accept(message("m1"))
	if d.count() != 1 {
		t.Fatalf("dispatched %d times, want 1", d.count())
	}
	box = restart(t, box, dir) // m1 still pending: its turn never ended
	d2 := &fakeDispatcher{}
	k2 := newIntake(t, box, d2, nil)
	k2.Replay()
	k2.Accept(message("m1"))
	if d2.count() != 1 {
		t.Fatalf("after restart: dispatched %d times (replay + redelivery), want 1", d2.count())
	}
	k2.AfterTurn(message("m1"), nil)
	box = restart(t, box, dir)
	d3 := &fakeDispatcher{}
	k3 := newIntake(t, box, d3, nil)
	k3.Replay()
	k3.Accept(message("m1"))
	if d3.count() != 0 {
		t.Errorf("an answered message was dispatched again %d times", d3.count())
	}
}

// A turn cancelled by shutdown leaves its message pending, its attempt
// released: the next start answers it.
func TestShutdownCancelledTurnStaysPending(t *testing.T) {
	dir := t.TempDir()
	box := openBox(t, dir)
	k := newIntake(t, box, &fakeDispatcher{}, nil)
	in := message("m1")
	k.Accept(in)
	if n, err := k.Attempt(in); n != 1 || err != nil {
		t.Fatalf("Attempt = %d, %v", n, err)
	}
	k.AfterTurn(in, fmt.Errorf("turn: %w", agent.ErrShutdown))
	box = restart(t, box, dir)
	if got := pendingIDs(box); !slices.Equal(got, []string{"m1"}) {
		t.Fatalf("pending after restart %v, want [m1]", got)
	}
	d := &fakeDispatcher{}
	k2 := newIntake(t, box, d, nil)
	k2.Replay()
	if d.count() != 1 {
		t.Errorf("replayed %d times, want 1", d.count())
	}
	if n, _ := k2.Attempt(in); n != 1 {
		t.Errorf("attempt after a clean cancel = %d, want 1 (the cancelled one not counted)", n)
	}
}

// A turn that failed for good, or a message given up on, is done: never
// replayed, never answered again on redelivery.
func TestFinishedAndDeadLetteredAreDone(t *testing.T) {
	dir := t.TempDir()
	box := openBox(t, dir)
	k := newIntake(t, box, &fakeDispatcher{}, nil)
	k.Accept(message("failed"))
	k.AfterTurn(message("failed"), errors.New("model unreachable"))
	k.Accept(message("poison"))
	if err := k.DeadLetter(message("poison"), "turn crashed 3 times"); err != nil {
		t.Fatal(err)
	}
	box = restart(t, box, dir)
	d := &fakeDispatcher{}
	k2 := newIntake(t, box, d, nil)
	k2.Replay()
	k2.Accept(message("failed"))
	k2.Accept(message("poison"))
	if got := pendingIDs(box); len(got) != 0 || d.count() != 0 {
		t.Errorf("pending %v, dispatched %d; want none", got, d.count())
	}
}

// A full chat queue never drops a message silently: the sender is told,
// and the message is done (not replayed after a restart).
func TestFullQueueAnswersBusyAndIsDone(t *testing.T) {
	dir := t.TempDir()
	box := openBox(t, dir)
	sent := make(chan picoclaw.Outbound, 1)
	k := newIntake(t, box, &fakeDispatcher{full: true}, func(_ context.Context, out picoclaw.Outbound) error {
		sent <- out
		return nil
	})
	k.Accept(message("m1"))
	select {
	case out := <-sent:
		if out.Text != BusyText || out.ReplyTo != "m1" || out.Chat.ID != "0123" {
			t.Errorf("busy answer %+v", out)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no busy answer")
	}
	box = restart(t, box, dir)
	if got := pendingIDs(box); len(got) != 0 {
		t.Errorf("refused message still pending: %v", got)
	}
}

// Close cancels a busy answer still being sent and waits for it; no busy
// answer starts after Close.
func TestCloseCancelsAndWaitsForBusyAnswers(t *testing.T) {
	box := openBox(t, t.TempDir())
	t.Cleanup(func() { box.Close() })
	started, ended := make(chan struct{}, 2), make(chan error, 2)
	k := newIntake(t, box, &fakeDispatcher{full: true}, func(ctx context.Context, _ picoclaw.Outbound) error {
		started <- struct{}{}
		<-ctx.Done() // a send that hangs until cancelled
		ended <- ctx.Err()
		return ctx.Err()
	})
	k.Accept(message("m1"))
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("busy answer never started")
	}
	k.Close()
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("busy answer ended with %v, want cancelled", err)
		}
	default:
		t.Fatal("Close returned while the busy answer was still sending")
	}
	k.Accept(message("m2"))
	if len(started) != 0 {
		t.Error("a busy answer started after Close")
	}
}

func TestNewRequiresJournalAndSend(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted a config without journal and send")
	}
}
