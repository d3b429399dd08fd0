package natsstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"picoclaw"
	"picoclaw/internal/natstest"
)

func TestQueueTwoGatewaysDispatchEachMessageOnceInChatOrder(t *testing.T) {
	srv := natstest.Start(t)
	a := startGateway(t, srv.URL(), testQueueConfig("a"), true)
	b := startGateway(t, srv.URL(), testQueueConfig("b"), true)
	// Messages arrive while the two are still sharing the partitions out:
	// a claims all at first and hands half back to b.
	var want []picoclaw.Inbound
	for i := range 15 {
		for c := range 12 {
			in := chatMessage(c, i)
			accept(t, []*Queue{a.q, b.q}[(c+i)%2], in)
			want = append(want, in)
		}
	}
	waitFor(t, "every message dispatched", func() bool { return len(a.received())+len(b.received()) >= len(want) })
	waitFor(t, "the inbox emptied", func() bool { return inboxMsgs(t, a) == 0 })
	got := append(a.received(), b.received()...)
	seen := map[string]int{}
	for _, in := range got {
		seen[in.MessageID]++
	}
	for _, in := range want {
		if seen[in.MessageID] != 1 {
			t.Errorf("%s dispatched %d times, want once", in.MessageID, seen[in.MessageID])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d dispatches for %d messages", len(got), len(want))
	}
	// Each gateway saw each chat's messages in push order (a chat may have
	// moved from a to b once, never back and forth with overlap).
	wantBy := idsByChat(want)
	for _, g := range []*gateway{a, b} {
		for chat, ids := range idsByChat(g.received()) {
			if !isSubsequence(ids, wantBy[chat]) {
				t.Errorf("%s: chat %s dispatched out of order: %v", g.name, chat, ids)
			}
		}
	}
	waitFor(t, "the partitions shared 4/4", func() bool {
		return ownedAll(8, a, b) && len(a.q.Stats().Owned) == 4 && len(b.q.Stats().Owned) == 4
	})
}

func TestQueueGracefulStopHandsPartitionsOverInOrder(t *testing.T) {
	srv := natstest.Start(t)
	a := startGateway(t, srv.URL(), testQueueConfig("a"), false)
	waitFor(t, "a owns every partition", func() bool { return ownedAll(8, a) })
	b := startGateway(t, srv.URL(), testQueueConfig("b"), true)
	var want []picoclaw.Inbound
	for c := range 6 {
		for i := range 5 {
			in := chatMessage(c, i)
			accept(t, b.q, in)
			want = append(want, in)
		}
	}
	// a's turns run long: it holds what it got (its share, or all of it
	// if it had not yet handed partitions to b).
	waitFor(t, "all messages dispatched", func() bool { return len(a.received())+len(b.received()) >= len(want) })
	held := a.received()
	if len(held) == 0 {
		t.Fatal("a was given nothing to hold")
	}
	// a answers each chat's first message, then is stopped: the
	// dispatcher cuts the other turns short and releases them.
	answered := map[string]bool{} // chat id → its first message answered
	answeredIDs := map[string]bool{}
	var unfinished []picoclaw.Inbound
	for _, in := range held {
		if !answered[in.Chat.ID] {
			answered[in.Chat.ID] = true
			answeredIDs[in.MessageID] = true
			if err := a.q.Done(in.MessageID); err != nil {
				t.Fatal(err)
			}
			continue
		}
		unfinished = append(unfinished, in)
	}
	stopped := time.Now()
	a.cancel()
	// The dispatcher cuts the running turn of each chat short (Release);
	// the rest it drops from its queues, and Close hands them back.
	released := map[string]bool{}
	for _, in := range unfinished {
		if released[in.Chat.ID] {
			continue
		}
		released[in.Chat.ID] = true
		if _, err := a.q.Attempt(in.MessageID); err != nil {
			t.Fatal(err)
		}
		if err := a.q.Release(in.MessageID); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.q.Close(); err != nil {
		t.Fatal(err)
	}
	a.stop()
	waitFor(t, "b got a's unfinished messages", func() bool {
		return len(b.received()) >= len(want)-len(held)+len(unfinished)
	})
	bGot := b.received()
	var redelivered []picoclaw.Inbound
	var first time.Time
	b.mu.Lock()
	for i, in := range bGot {
		if slices.ContainsFunc(unfinished, func(u picoclaw.Inbound) bool { return u.MessageID == in.MessageID }) {
			redelivered = append(redelivered, in)
			if first.IsZero() {
				first = b.at[i]
			}
		}
	}
	b.mu.Unlock()
	t.Logf("graceful hand-over: %d unfinished messages, first redelivered %v after a stopped", len(unfinished), first.Sub(stopped))
	if !slices.Equal(flatIDs(idsByChat(redelivered)), flatIDs(idsByChat(unfinished))) {
		t.Errorf("b got a's unfinished messages as %v, want %v", idsByChat(redelivered), idsByChat(unfinished))
	}
	for _, in := range bGot {
		if answeredIDs[in.MessageID] {
			t.Errorf("b got %s, which a answered", in.MessageID)
		}
	}
	for _, in := range redelivered {
		// Released attempts do not count, nor do turns that never
		// started: the next turn is the first.
		waitFor(t, "b's turn of "+in.MessageID, func() bool { return b.attempt(in.MessageID) != 0 })
		if n := b.attempt(in.MessageID); n != 1 {
			t.Errorf("attempt of %s on b: %d; want 1", in.MessageID, n)
		}
	}
	waitFor(t, "b owns every partition", func() bool { return ownedAll(8, b) })
	if !a.q.Stats().LastTakeover.IsZero() || !b.q.Stats().LastTakeover.IsZero() {
		t.Error("a graceful stop was logged as a takeover")
	}
}

func TestQueueCrashedGatewayTakenOverAfterLeaseTTL(t *testing.T) {
	srv := natstest.Start(t)
	a := startGateway(t, srv.URL(), testQueueConfig("a"), false)
	b := startGateway(t, srv.URL(), testQueueConfig("b"), true)
	waitFor(t, "the partitions shared 4/4", func() bool {
		return ownedAll(8, a, b) && len(a.q.Stats().Owned) == 4 && len(b.q.Stats().Owned) == 4
	})
	var want []picoclaw.Inbound
	for c := range 8 {
		for i := range 4 {
			in := chatMessage(c, i)
			accept(t, b.q, in)
			want = append(want, in)
		}
	}
	waitFor(t, "all messages dispatched", func() bool { return len(a.received())+len(b.received()) >= len(want) })
	held := a.received()
	if len(held) == 0 {
		t.Fatal("a was given nothing")
	}
	// a starts a turn for each, then dies mid-turn.
	for _, in := range held {
		if n, err := a.q.Attempt(in.MessageID); err != nil || n != 1 {
			t.Fatalf("attempt %s: %d, %v", in.MessageID, n, err)
		}
	}
	before := len(b.received())
	a.crash()
	crashed := time.Now()
	waitFor(t, "b got a's messages again", func() bool { return len(b.received()) >= before+len(held) })
	b.mu.Lock()
	took := b.at[before].Sub(crashed)
	redelivered := slices.Clone(b.got[before:])
	b.mu.Unlock()
	t.Logf("fail-over: %d messages of a crashed gateway redelivered %v after the crash (lease TTL %v)", len(held), took, testQueueConfig("").LeaseTTL)
	if !slices.Equal(flatIDs(idsByChat(redelivered)), flatIDs(idsByChat(held))) {
		t.Errorf("redelivered %v, want %v in chat order", idsByChat(redelivered), idsByChat(held))
	}
	for _, in := range redelivered {
		// The attempt count survives the crash: a message that crashes a
		// second gateway is given up on (agent.MaxAttempts = 2).
		waitFor(t, "b's turn of "+in.MessageID, func() bool { return b.attempt(in.MessageID) != 0 })
		if n := b.attempt(in.MessageID); n != 2 {
			t.Errorf("attempt of %s after the crash: %d; want 2", in.MessageID, n)
		}
	}
	waitFor(t, "b owns every partition", func() bool { return ownedAll(8, b) })
	if b.q.Stats().LastTakeover.IsZero() {
		t.Error("b's stats show no takeover")
	}
	if err := b.log.WaitFor(context.Background(), "taking over a partition"); err != nil {
		t.Fatal(err)
	}
}

func TestQueueAnsweredBeforeCrashIsNotDispatchedAgain(t *testing.T) {
	srv := natstest.Start(t)
	a := startGateway(t, srv.URL(), testQueueConfig("a"), false)
	waitFor(t, "a owns every partition", func() bool { return ownedAll(8, a) })
	first, second := chatMessage(5, 1), chatMessage(5, 2)
	accept(t, a.q, first)
	accept(t, a.q, second)
	waitFor(t, "both dispatched", func() bool { return len(a.received()) == 2 })
	// Done's first step, then the crash before its ack.
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if _, err := a.q.done.Put(ctx, doneKey(first.MessageID), []byte("x")); err != nil {
		t.Fatal(err)
	}
	a.crash()
	b := startGateway(t, srv.URL(), testQueueConfig("b"), true)
	waitFor(t, "b answered the second message", func() bool { return len(b.received()) == 1 })
	waitFor(t, "the inbox emptied", func() bool { return inboxMsgs(t, b) == 0 })
	if got := b.received(); got[0].MessageID != second.MessageID {
		t.Errorf("b dispatched %s, want only %s", got[0].MessageID, second.MessageID)
	}
}

func TestQueueSharesPartitionsAmongThreeGateways(t *testing.T) {
	srv := natstest.Start(t)
	var gs []*gateway
	for _, n := range []string{"a", "b", "c"} {
		gs = append(gs, startGateway(t, srv.URL(), testQueueConfig(n), true))
	}
	// ceil(8/3) = 3: 3, 3 and 2.
	waitFor(t, "8 partitions shared at most 3 each", func() bool {
		if !ownedAll(8, gs...) {
			return false
		}
		for _, g := range gs {
			if len(g.q.Stats().Owned) > 3 {
				return false
			}
		}
		return true
	})
	// One leaves: the two left share its partitions, 4 each.
	gs[2].stop()
	waitFor(t, "the other two took its partitions", func() bool {
		return ownedAll(8, gs[0], gs[1]) && len(gs[0].q.Stats().Owned) == 4
	})
}

func TestQueueOnReplicatedClusterDispatchesEachMessageOnce(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	cfg := func(n string) QueueConfig {
		q := testQueueConfig(n)
		q.Replicas = 3
		return q
	}
	a := startGateway(t, c.NodeURL(0), cfg("a"), true)
	b := startGateway(t, c.NodeURL(1), cfg("b"), true)
	var want []picoclaw.Inbound
	for i := range 5 {
		for ch := range 8 {
			in := chatMessage(ch, i)
			accept(t, []*Queue{a.q, b.q}[ch%2], in)
			want = append(want, in)
		}
	}
	waitFor(t, "every message dispatched", func() bool { return len(a.received())+len(b.received()) >= len(want) })
	waitFor(t, "the inbox emptied", func() bool { return inboxMsgs(t, a) == 0 })
	seen := map[string]int{}
	for _, in := range append(a.received(), b.received()...) {
		seen[in.MessageID]++
	}
	for _, in := range want {
		if seen[in.MessageID] != 1 {
			t.Errorf("%s dispatched %d times, want once", in.MessageID, seen[in.MessageID])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	s, err := a.js.Stream(ctx, "PICOCLAW_INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if r := s.CachedInfo().Config.Replicas; r != 3 {
		t.Errorf("inbox replicas %d, want 3", r)
	}
}

// isSubsequence reports whether sub appears in all in the same order.
func isSubsequence(sub, all []string) bool {
	i := 0
	for _, s := range all {
		if i < len(sub) && sub[i] == s {
			i++
		}
	}
	return i == len(sub)
}

// flatIDs lists per-chat ids chat by chat, in sorted chat order.
func flatIDs(by map[string][]string) []string {
	var chats []string
	for c := range by {
		chats = append(chats, c)
	}
	slices.Sort(chats)
	var out []string
	for _, c := range chats {
		out = append(out, by[c]...)
	}
	return out
}

func TestQueueStopsPartitionWhoseLeaseAnotherGatewayHolds(t *testing.T) {
	srv := natstest.Start(t)
	a := startGateway(t, srv.URL(), testQueueConfig("a"), true)
	waitFor(t, "a owns every partition", func() bool { return ownedAll(8, a) })
	// Someone else holds partition 3's lease now (a's lease expired while
	// a was cut off from NATS, say).
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := a.q.leases.Purge(ctx, "part.3"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.q.leases.Create(ctx, "part.3", []byte("intruder")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a stopped partition 3", func() bool { return !slices.Contains(a.q.Stats().Owned, 3) })
	if err := a.log.WaitFor(ctx, "lease lost"); err != nil {
		t.Fatal(err)
	}
	e, err := a.q.leases.Get(ctx, "part.3")
	if err != nil || string(e.Value()) != "intruder" {
		t.Fatalf("lease of partition 3: %v, %v; want the intruder's", e, err)
	}
}

func TestQueueSurvivesLosingOneNATSNodeOfThree(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	cfg := func(n string) QueueConfig {
		q := testQueueConfig(n)
		q.Replicas = 3
		return q
	}
	a := startGateway(t, c.URL(), cfg("a"), true)
	b := startGateway(t, c.URL(), cfg("b"), true)
	var want []picoclaw.Inbound
	acceptRetrying := func(q *Queue, in picoclaw.Inbound) {
		t.Helper()
		deadline := time.Now().Add(waitLong)
		for {
			// DingTalk pushes again until the frame is acked: retry.
			_, err := q.Accept(in)
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("accept %s: %v", in.MessageID, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for i := range 10 {
		if i == 4 {
			c.Stop(0)
		}
		for ch := range 8 {
			in := chatMessage(ch, i)
			acceptRetrying([]*Queue{a.q, b.q}[ch%2], in)
			want = append(want, in)
		}
	}
	seen := func() map[string]int {
		m := map[string]int{}
		for _, in := range append(a.received(), b.received()...) {
			m[in.MessageID]++
		}
		return m
	}
	waitFor(t, "every message dispatched", func() bool {
		s := seen()
		for _, in := range want {
			if s[in.MessageID] == 0 {
				return false
			}
		}
		return true
	})
	dups := 0
	for _, n := range seen() {
		dups += n - 1
	}
	t.Logf("one NATS node of three down: %d messages, %d dispatched twice", len(want), dups)
	wantBy := idsByChat(want)
	for _, g := range []*gateway{a, b} {
		for chat, ids := range idsByChat(g.received()) {
			if !isSubsequence(slices.Compact(ids), wantBy[chat]) {
				t.Errorf("%s: chat %s dispatched out of order: %v", g.name, chat, ids)
			}
		}
	}
}

func TestQueueTwoProcessesWithOneNodeNameAreLogged(t *testing.T) {
	srv := natstest.Start(t)
	a := startGateway(t, srv.URL(), testQueueConfig("same"), true)
	b := startGateway(t, srv.URL(), testQueueConfig("same"), true)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for _, g := range []*gateway{a, b} {
		if err := g.log.WaitFor(ctx, "node names must be unique"); err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
	}
	// Leases still keep each partition with one of them.
	waitFor(t, "every partition owned once", func() bool { return ownedAll(8, a, b) })
}

// TestQueueHandOverWaitsForLongTurns: a gateway joining takes half the
// partitions, but one whose turns run longer than AckWait stays with the
// gateway working them until they are done: a routine hand-over (no
// crash) never puts a message on two gateways.
func TestQueueHandOverWaitsForLongTurns(t *testing.T) {
	srv := natstest.Start(t)
	cfg := testQueueConfig("a")
	cfg.AckWait = time.Second
	cfg.ReleaseWait = time.Minute
	a := startGateway(t, srv.URL(), cfg, false)
	waitFor(t, "a owns every partition", func() bool { return ownedAll(8, a) })
	var held []picoclaw.Inbound
	for c := range 16 { // chats over all 8 partitions
		in := chatMessage(c, 0)
		accept(t, a.q, in)
		held = append(held, in)
	}
	waitFor(t, "a works every message", func() bool { return len(a.received()) == len(held) })
	b := startGateway(t, srv.URL(), testQueueConfig("b"), true)
	// Three AckWaits: a hand-over bounded by AckWait would have given b
	// the partitions, and their unfinished turns, by now.
	time.Sleep(3 * cfg.AckWait)
	if got := b.received(); len(got) != 0 {
		t.Fatalf("b got %d messages a is still answering (%s first)", len(got), got[0].MessageID)
	}
	for _, in := range held {
		if err := a.q.Done(in.MessageID); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "b takes its share once a's turns are done", func() bool { return len(b.q.Stats().Owned) == 4 && ownedAll(8, a, b) })
	if got := b.received(); len(got) != 0 {
		t.Fatalf("b got %d messages a answered (%s first)", len(got), got[0].MessageID)
	}
}

// TestQueueStaleLeaseHandsMessagesBack: a gateway cut off from NATS for
// longer than its lease may have lost a partition without hearing of it,
// and its next pull may be served by the new owner's consumer (same
// name): what it pulls then is handed back at once, not answered.
func TestQueueStaleLeaseHandsMessagesBack(t *testing.T) {
	srv := natstest.Start(t)
	_, js := connectQueueTest(t, srv.URL())
	ctx := testContext(t)
	q, err := NewQueue(ctx, js, testQueueConfig("a"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	accept(t, q, chatMessage(1, 0))
	cons, err := q.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	pull := func() jetstream.Msg {
		t.Helper()
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		msg := <-batch.Messages()
		if msg == nil {
			t.Fatal("no message pulled")
		}
		return msg
	}
	dispatched := 0
	dispatch := func(picoclaw.Inbound) bool { dispatched++; return true }

	stale := &partition{n: 1}
	stale.setRefreshed(time.Now().Add(-2 * q.cfg.LeaseTTL))
	if q.deliver(stale, pull(), dispatch) {
		t.Error("deliver on a stale lease reported the message taken; want handed back (and the pulling stopped)")
	}
	if dispatched != 0 {
		t.Fatalf("dispatched %d messages pulled on a stale lease, want 0", dispatched)
	}
	again := pull() // handed back: offered again at once
	md, err := again.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if md.NumDelivered != 2 {
		t.Fatalf("message delivered %d times, want 2 (handed back once)", md.NumDelivered)
	}
	fresh := &partition{n: 1}
	fresh.setRefreshed(time.Now())
	q.deliver(fresh, again, dispatch)
	if dispatched != 1 {
		t.Fatalf("dispatched %d on a lease just renewed, want 1", dispatched)
	}
}
