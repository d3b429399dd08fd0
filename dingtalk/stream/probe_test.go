package stream

import (
	"errors"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
)

func newProbe(t *testing.T, srv *dingtalktest.Server, secret string) *Client {
	t.Helper()
	c, err := New(Config{ClientID: srv.ClientID, ClientSecret: secret, APIBase: srv.URL(),
		Handler: func(*Frame) int { t.Error("Probe called the handler"); return AckOK }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProbe(t *testing.T) {
	srv := newFake(t)
	if _, err := newProbe(t, srv, srv.ClientSecret).Probe(streamCtx(t), 0); err != nil {
		t.Fatalf("Probe with good credentials: %v", err)
	}
	if n := srv.ConnectionCount(); n != 1 {
		t.Errorf("connections = %d, want 1", n)
	}
	_, err := newProbe(t, srv, "wrong-secret").Probe(streamCtx(t), 0)
	if !errors.Is(err, picoclaw.ErrAuth) {
		t.Errorf("Probe with a wrong secret: %v, want ErrAuth", err)
	}
}

// While listening, Probe counts robot messages and acks none, so DingTalk
// pushes them again to a connection that answers them.
func TestProbeListensWithoutAcking(t *testing.T) {
	srv := newFake(t)
	type result struct {
		res ProbeResult
		err error
	}
	done := make(chan result, 1)
	probe, ctx := newProbe(t, srv, srv.ClientSecret), streamCtx(t)
	go func() {
		// Long enough for the push below on a loaded machine; the
		// probe always listens this long.
		res, err := probe.Probe(ctx, 5*time.Second)
		done <- result{res, err}
	}()
	if err := srv.WaitConnections(streamCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	p, err := srv.PushBotMessage(dingtalktest.BotMessage{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.res.BotMessages != 1 {
		t.Errorf("Probe = %+v, %v; want 1 robot message", r.res, r.err)
	}
	for _, a := range srv.Acks() {
		if a.MessageID == p.MessageID {
			t.Errorf("Probe acked the robot message: %+v", a)
		}
	}
}
