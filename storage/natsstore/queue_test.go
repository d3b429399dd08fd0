package natsstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/intake"
	"picoclaw/internal/natstest"
)

// The gateway uses a Queue where it used the files inbox.
var _ intake.Journal = (*Queue)(nil)

func TestQueueAcceptRedeliveredPushIsNotNew(t *testing.T) {
	srv := natstest.Start(t)
	a := startGateway(t, srv.URL(), testQueueConfig("a"), true)
	b := startGateway(t, srv.URL(), testQueueConfig("b"), true)
	in := chatMessage(1, 1)
	accept(t, a.q, in)
	// DingTalk pushes it again, to the other gateway's connection.
	isNew, err := b.q.Accept(in)
	if err != nil {
		t.Fatal(err)
	}
	if isNew {
		t.Fatal("second Accept of the same message id: new, want a duplicate")
	}
	waitFor(t, "the message answered", func() bool { return len(a.received())+len(b.received()) == 1 })
	if _, err := a.q.Accept(picoclaw.Inbound{Text: "no id"}); err == nil {
		t.Fatal("Accept without a message id: no error")
	}
}

func TestQueueDispatchesInChatOrderOnOneGateway(t *testing.T) {
	srv := natstest.Start(t)
	g := startGateway(t, srv.URL(), testQueueConfig("solo"), true)
	var want []picoclaw.Inbound
	for i := range 10 {
		for c := range 4 {
			in := chatMessage(c, i)
			accept(t, g.q, in)
			want = append(want, in)
		}
	}
	waitFor(t, "all 40 messages dispatched", func() bool { return len(g.received()) >= len(want) })
	got := g.received()
	if len(got) != len(want) {
		t.Fatalf("dispatched %d messages, want %d", len(got), len(want))
	}
	wantBy, gotBy := idsByChat(want), idsByChat(got)
	for chat, ids := range wantBy {
		if !slices.Equal(gotBy[chat], ids) {
			t.Errorf("chat %s: dispatched %v, want %v", chat, gotBy[chat], ids)
		}
	}
	for _, g := range got {
		if g.MessageID == want[0].MessageID && (g.Text != want[0].Text || g.Chat != want[0].Chat || !g.Received.Equal(want[0].Received)) {
			t.Errorf("message came back as %+v, want %+v", g, want[0])
		}
	}
	waitFor(t, "the stream emptied by the acks", func() bool { return inboxMsgs(t, g) == 0 })
	waitFor(t, "all partitions claimed", func() bool { return ownedAll(8, g) })
	waitFor(t, "nothing left in flight", func() bool { return g.q.Stats().InFlight == 0 })
	if s := g.q.Stats(); len(s.Owned) != 8 || s.InFlight != 0 {
		t.Errorf("stats: %+v, want all 8 partitions owned and nothing in flight", s)
	}
}

func TestQueueUnknownMessageIDsAreErrors(t *testing.T) {
	srv := natstest.Start(t)
	g := startGateway(t, srv.URL(), testQueueConfig("a"), false)
	for name, call := range map[string]func() error{
		"done":        func() error { return g.q.Done("ghost-1") },
		"attempt":     func() error { _, err := g.q.Attempt("ghost-1"); return err },
		"release":     func() error { return g.q.Release("ghost-1") },
		"dead-letter": func() error { return g.q.DeadLetter(picoclaw.Inbound{MessageID: "ghost-1"}, "x") },
	} {
		err := call()
		if err == nil || !strings.Contains(err.Error(), "ghost-1") {
			t.Errorf("%s of an unknown id: %v, want an error naming it", name, err)
		}
	}
}

func TestQueueDeadLetterKeepsMessageWithReason(t *testing.T) {
	srv := natstest.Start(t)
	g := startGateway(t, srv.URL(), testQueueConfig("a"), false)
	in := chatMessage(3, 1)
	accept(t, g.q, in)
	waitFor(t, "dispatch", func() bool { return len(g.received()) == 1 })
	for want := 1; want <= 3; want++ {
		n, err := g.q.Attempt(in.MessageID)
		if err != nil || n != want {
			t.Fatalf("attempt: %d, %v; want %d", n, err, want)
		}
	}
	if err := g.q.DeadLetter(in, "turn failed 2 times: boom"); err != nil {
		t.Fatal(err)
	}
	// The agent's AfterTurn marks it done after giving up: not an error.
	if err := g.q.Done(in.MessageID); err != nil {
		t.Fatalf("done after dead-letter: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	s, err := g.js.Stream(ctx, "PICOCLAW_DEAD")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.GetLastMsgForSubject(ctx, "picoclaw.dead.>")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get(DeadReasonHeader); got != "turn failed 2 times: boom" {
		t.Errorf("reason header %q", got)
	}
	if got := m.Header.Get(DeadAttemptsHeader); got != "3" {
		t.Errorf("attempts header %q, want 3", got)
	}
	back, err := decodeQueueMessage(m.Data)
	if err != nil || back.MessageID != in.MessageID || back.Text != in.Text {
		t.Errorf("dead letter holds %+v (%v)", back, err)
	}
	waitFor(t, "the inbox emptied", func() bool { return inboxMsgs(t, g) == 0 })
}

func TestNewQueueRejectsBadConfig(t *testing.T) {
	srv := natstest.Start(t)
	_, js := connectQueueTest(t, srv.URL())
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for _, tc := range []struct {
		cfg  QueueConfig
		want string
	}{
		{QueueConfig{}, "node"},
		{QueueConfig{Node: "a", Prefix: "pico.claw"}, "prefix"},
		{QueueConfig{Node: "a", Replicas: 2}, "replicas"},
		{QueueConfig{Node: "a", Partitions: -1}, "partitions"},
		{QueueConfig{Node: "a", LeaseTTL: time.Millisecond}, "lease"},
	} {
		if _, err := NewQueue(ctx, js, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %s", tc.cfg, err, tc.want)
		}
	}
	if _, err := NewQueue(ctx, js, QueueConfig{Node: "a", Partitions: 8}); err != nil {
		t.Fatal(err)
	}
	_, err := NewQueue(ctx, js, QueueConfig{Node: "b", Partitions: 16})
	if err == nil || !strings.Contains(err.Error(), "partition") {
		t.Errorf("second gateway with another partition count: %v, want refused", err)
	}
	// replicas raised to 3 after the layout was made with 1: the inbox
	// would stay on one server; refused, naming the stream and the fix.
	_, err = NewQueue(ctx, js, QueueConfig{Node: "c", Partitions: 8, Replicas: 3})
	if err == nil || !strings.Contains(err.Error(), "PICOCLAW_INBOX has 1 replica(s), storage.nats.replicas is 3") ||
		!strings.Contains(err.Error(), "nats stream edit PICOCLAW_INBOX --replicas 3") {
		t.Errorf("gateway with replicas 3 over an inbox of 1: %v, want refused with the fix", err)
	}
}

// inboxMsgs is how many messages the INBOX stream holds.
func inboxMsgs(t testing.TB, g *gateway) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	s, err := g.js.Stream(ctx, "PICOCLAW_INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.Msgs
}

func TestQueueLongTurnIsNotRedelivered(t *testing.T) {
	srv := natstest.Start(t)
	cfg := testQueueConfig("a")
	cfg.AckWait = 600 * time.Millisecond
	g := startGateway(t, srv.URL(), cfg, false)
	in := chatMessage(2, 1)
	accept(t, g.q, in)
	waitFor(t, "dispatch", func() bool { return len(g.received()) == 1 })
	// The turn runs for five ack waits. Nothing can signal "JetStream did
	// not redeliver", so this one waits out the time.
	time.Sleep(5 * cfg.AckWait)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	s, err := g.js.Stream(ctx, "PICOCLAW_INBOX")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Consumer(ctx, consumerName(queuePartition(in.SessionKey(), cfg.Partitions)))
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumRedelivered != 0 || info.NumAckPending != 1 {
		t.Errorf("after 5 ack waits in flight: %d redelivered, %d pending ack; want 0 and 1", info.NumRedelivered, info.NumAckPending)
	}
	if err := g.q.Done(in.MessageID); err != nil {
		t.Fatal(err)
	}
	if n := len(g.received()); n != 1 {
		t.Errorf("dispatched %d times, want once", n)
	}
}
