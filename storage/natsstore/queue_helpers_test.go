package natsstore

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"picoclaw"
	"picoclaw/internal/testutil"
)

// waitLong bounds every wait in these tests: generous for a loaded 2-core
// machine, where a lease TTL of a second or two may stretch.
const waitLong = 60 * time.Second

// testQueueConfig is a small, fast layout: 8 partitions, 1.5 s leases.
func testQueueConfig(node string) QueueConfig {
	return QueueConfig{Node: node, Partitions: 8, LeaseTTL: 1500 * time.Millisecond, AckWait: 5 * time.Second}
}

// gateway is one Queue with its own connection and Run, as one gateway
// process would have.
type gateway struct {
	t      testing.TB
	name   string
	nc     *nats.Conn
	js     jetstream.JetStream
	q      *Queue
	log    *testutil.SyncBuffer
	cancel context.CancelFunc
	ran    chan error
	// auto: every dispatched message is answered at once: its attempt
	// recorded, as the agent does before a turn, then marked done.
	auto bool

	mu       sync.Mutex
	got      []picoclaw.Inbound
	at       []time.Time
	attempts map[string]int // auto: what Attempt returned per message id
}

func connectQueueTest(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// startGateway opens a Queue named by cfg.Node on url and runs it.
func startGateway(t testing.TB, url string, cfg QueueConfig, auto bool) *gateway {
	t.Helper()
	nc, js := connectQueueTest(t, url)
	g := &gateway{t: t, name: cfg.Node, nc: nc, js: js, log: &testutil.SyncBuffer{}, auto: auto, ran: make(chan error, 1), attempts: map[string]int{}}
	cfg.Logger = slog.New(slog.NewTextHandler(g.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	q, err := NewQueue(ctx, js, cfg)
	if err != nil {
		t.Fatalf("new queue %s: %v", cfg.Node, err)
	}
	g.q = q
	rctx, rcancel := context.WithCancel(context.Background())
	g.cancel = rcancel
	go func() { g.ran <- q.Run(rctx, g.dispatch) }()
	t.Cleanup(func() {
		g.stop()
		nc.Close()
		if t.Failed() {
			t.Logf("log of %s:\n%s", g.name, g.log.String())
		}
	})
	return g
}

func (g *gateway) dispatch(in picoclaw.Inbound) bool {
	g.mu.Lock()
	g.got = append(g.got, in)
	g.at = append(g.at, time.Now())
	g.mu.Unlock()
	if g.auto {
		go func() {
			n, err := g.q.Attempt(in.MessageID)
			if err != nil {
				g.t.Errorf("%s: attempt %s: %v", g.name, in.MessageID, err)
			}
			g.mu.Lock()
			g.attempts[in.MessageID] = n
			g.mu.Unlock()
			if err := g.q.Done(in.MessageID); err != nil {
				g.t.Errorf("%s: done %s: %v", g.name, in.MessageID, err)
			}
		}()
	}
	return true
}

// attempt is what Attempt returned for id's auto-answered turn.
func (g *gateway) attempt(id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.attempts[id]
}

// received is what dispatch got so far, in order.
func (g *gateway) received() []picoclaw.Inbound {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.got)
}

// stop cancels Run and waits for it to return.
func (g *gateway) stop() {
	g.t.Helper()
	g.cancel()
	select {
	case err, ok := <-g.ran:
		if ok && err != nil {
			g.t.Errorf("%s: run: %v", g.name, err)
		}
		if ok {
			close(g.ran)
		}
	case <-time.After(waitLong):
		g.t.Errorf("%s: run did not return after cancel", g.name)
	}
}

// crash drops the connection without releasing anything, as kill -9
// would, then lets Run return on its own (its clean-up fails).
func (g *gateway) crash() {
	g.nc.Close()
	g.cancel()
}

// waitFor polls cond until it holds or waitLong passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chatMessage is message i of chat c.
func chatMessage(c, i int) picoclaw.Inbound {
	return picoclaw.Inbound{
		Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: fmt.Sprintf("cid%d==", c)},
		SenderID: "u1", MessageID: fmt.Sprintf("msg-%d-%d", c, i), Text: fmt.Sprintf("chat %d message %d", c, i),
		Received: time.Date(2026, 12, 4, 5, 0, 0, 0, time.UTC),
	}
}

func accept(t *testing.T, q *Queue, in picoclaw.Inbound) {
	t.Helper()
	isNew, err := q.Accept(in)
	if err != nil {
		t.Fatalf("accept %s: %v", in.MessageID, err)
	}
	if !isNew {
		t.Fatalf("accept %s: not new", in.MessageID)
	}
}

// ids lists the message ids of ins, per chat id, in order.
func idsByChat(ins []picoclaw.Inbound) map[string][]string {
	out := map[string][]string{}
	for _, in := range ins {
		out[in.Chat.ID] = append(out[in.Chat.ID], in.MessageID)
	}
	return out
}

// ownedAll reports whether gs together own every one of n partitions, each
// exactly once.
func ownedAll(n int, gs ...*gateway) bool {
	seen := map[int]bool{}
	for _, g := range gs {
		for _, p := range g.q.Stats().Owned {
			if seen[p] {
				return false
			}
			seen[p] = true
		}
	}
	return len(seen) == n
}
