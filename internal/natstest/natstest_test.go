package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestClusterKeepsReplicatedStreamThroughNodeLoss is what fail-over tests
// rely on: with one of three nodes down, a replicated stream still takes
// and keeps messages, and the node rejoins on Restart.
func TestClusterKeepsReplicatedStreamThroughNodeLoss(t *testing.T) {
	c := StartCluster(t, 3)
	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "t.a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	c.Stop(0)
	// The stream's leader may have been on node 1: publish until the
	// remaining two elect a new one.
	for {
		if _, err := js.Publish(ctx, "t.a", []byte("2")); err == nil {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("publish with one node down: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Restart(0)
	s, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 2 {
		t.Fatalf("stream holds %d messages, want 2", n)
	}
}

// TestProcessesSurviveAKilledNode: the process cluster end-to-end tests
// use keeps a replicated stream through a node killed with SIGKILL, and
// the node rejoins on Restart.
func TestProcessesSurviveAKilledNode(t *testing.T) {
	c := StartProcesses(t, 3)
	nc, err := nats.Connect(c.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	c.Stop(1)
	for {
		if _, err := js.Publish(ctx, "t.a", []byte("1")); err == nil {
			break
		} else if ctx.Err() != nil {
			t.Fatalf("publish with one node killed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.Restart(1)
	s, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
}
