package natsstore

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"picoclaw/internal/natstest"
)

func TestOpenTwiceSharesTheLayout(t *testing.T) {
	url := startSingle(t).URL()
	a := mustOpen(t, url)
	b := mustOpen(t, url) // a second gateway on the same layout
	ctx := testContext(t)
	for _, name := range []string{"PICOCLAW_SESSIONS", "KV_picoclaw_routes", "KV_picoclaw_cron"} {
		if _, err := b.JetStream().Stream(ctx, name); err != nil {
			t.Errorf("stream %s: %v", name, err)
		}
	}
	wantHistory(t, a.Sessions(), alice)
	mustAppend(t, a.Sessions(), alice, user("shared"))
	wantHistory(t, b.Sessions(), alice, "shared")
}

func TestOpenConcurrently(t *testing.T) {
	url := startSingle(t).URL()
	// Gateways starting at once race to create the same layout.
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			st, err := Open(testContext(t), Config{URL: url}, nil)
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Errorf("Open: %v", err)
		}
	}
}

func TestOpenUpdatesALayoutWithOtherSettings(t *testing.T) {
	url := startSingle(t).URL()
	ctx := testContext(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	// An older layout: no rollups, a max age, a different description.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: "PICOCLAW_SESSIONS", Subjects: []string{"picoclaw.session.>"},
		MaxAge: time.Hour, Description: "old",
	}); err != nil {
		t.Fatalf("create old stream: %v", err)
	}
	st := mustOpen(t, url)
	info, err := st.sessionsStream.Info(ctx)
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if !info.Config.AllowRollup || info.Config.MaxAge != 0 {
		t.Errorf("after Open: allow_rollup %v, max_age %v; want true, 0", info.Config.AllowRollup, info.Config.MaxAge)
	}
	wantHistory(t, st.Sessions(), alice)
	mustAppend(t, st.Sessions(), alice, user("a"), user("b"))
	if err := st.Sessions().Replace(ctx, alice, nil); err != nil {
		t.Fatalf("Replace on the updated layout: %v", err)
	}
}

func TestOpenPrefixNamesTheLayout(t *testing.T) {
	url := startSingle(t).URL()
	a := mustOpen(t, url, func(c *Config) { c.Prefix = "bot-a" })
	b := mustOpen(t, url, func(c *Config) { c.Prefix = "bot-b" })
	if _, err := a.JetStream().Stream(testContext(t), "BOT-A_SESSIONS"); err != nil {
		t.Fatalf("stream BOT-A_SESSIONS: %v", err)
	}
	wantHistory(t, a.Sessions(), alice)
	mustAppend(t, a.Sessions(), alice, user("for bot a"))
	wantHistory(t, b.Sessions(), alice) // another bot's layout is apart
}

func TestOpenUnreachableNamesTheURLNotTheSecret(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err = Open(ctx, Config{URL: "nats://bob:hunter2@" + addr}, nil)
	if err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name %s", err, addr)
	}
	t.Logf("error: %v", err)
	if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "bob") {
		t.Errorf("error %q shows the credentials", err)
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no url", Config{}, "url"},
		{"replicas", Config{URL: "nats://127.0.0.1:1", Replicas: 2}, "replicas: 2"},
		{"prefix", Config{URL: "nats://127.0.0.1:1", Prefix: "a.b"}, `prefix "a.b"`},
		{"half tls", Config{URL: "nats://127.0.0.1:1", CertFile: "c.pem"}, "key_file"},
		{"missing creds", Config{URL: "nats://127.0.0.1:1", Credentials: "/nonexistent/bot.creds"}, "credentials: stat /nonexistent/bot.creds"},
		{"missing ca", Config{URL: "nats://127.0.0.1:1", CAFile: "/nonexistent/ca.pem"}, "tls.ca_file: stat /nonexistent/ca.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(testContext(t), tc.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestClusterServesSessionsWithANodeDown(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	a := mustOpen(t, c.URL(), func(cfg *Config) { cfg.Replicas = 3 })
	b := mustOpen(t, c.URL(), func(cfg *Config) { cfg.Replicas = 3 })
	info, err := a.sessionsStream.Info(testContext(t))
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	if info.Config.Replicas != 3 {
		t.Fatalf("replicas = %d, want 3", info.Config.Replicas)
	}
	wantHistory(t, a.Sessions(), alice)
	mustAppend(t, a.Sessions(), alice, user("before"))

	// Stop the node that leads the sessions stream: the hardest case.
	leader := 0
	if info.Cluster != nil {
		for i := range c.Size() {
			if info.Cluster.Leader == "n"+string(rune('1'+i)) {
				leader = i
			}
		}
	}
	c.Stop(leader)

	mustAppend(t, a.Sessions(), alice, assistant("during"))
	wantHistory(t, b.Sessions(), alice, "before", "during")
	mustAppend(t, b.Sessions(), alice, user("still"))
	wantHistory(t, a.Sessions(), alice, "before", "during", "still")
	if err := a.Routes().Put(testContext(t), "route", []byte("v"), time.Hour); err != nil {
		t.Fatalf("route Put with a node down: %v", err)
	}
	at := time.Unix(1_800_000_000, 0)
	wonA, errA := a.CronJobs().Claim(testContext(t), "job", at)
	wonB, errB := b.CronJobs().Claim(testContext(t), "job", at)
	if errA != nil || errB != nil || wonA == wonB {
		t.Fatalf("claims with a node down: a %v %v, b %v %v; want exactly one winner", wonA, errA, wonB, errB)
	}
}
