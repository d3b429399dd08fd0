package stream

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/internal/backoff"

	"picoclaw/internal/testutil"
)

func streamCtx(t *testing.T) context.Context { return testutil.Context(t) }

// harness runs a Stream against a fake DingTalk.
type harness struct {
	srv       *dingtalktest.Server
	stream    *Client
	frames    chan *Frame
	connected chan struct{}
	logs      *testutil.SyncBuffer
	cancel    context.CancelFunc
	done      chan error
}

func newFake(t *testing.T) *dingtalktest.Server {
	t.Helper()
	srv := dingtalktest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// startStream starts Run in the background; mod may adjust the config
// (and the Stream) before it starts. Cleanup cancels Run and waits for it.
func startStream(t *testing.T, srv *dingtalktest.Server, mod func(*Config)) *harness {
	t.Helper()
	return startStreamWith(t, srv, mod, nil)
}

// startStreamWith is startStream with a hook that adjusts the Stream's
// internals (such as its drain deadline) before Run starts.
func startStreamWith(t *testing.T, srv *dingtalktest.Server, mod func(*Config), prep func(*Client)) *harness {
	t.Helper()
	h := &harness{
		srv:       srv,
		frames:    make(chan *Frame, 64),
		connected: make(chan struct{}, 64),
		logs:      &testutil.SyncBuffer{},
		done:      make(chan error, 1),
	}
	cfg := Config{
		ClientID:     srv.ClientID,
		ClientSecret: srv.ClientSecret,
		APIBase:      srv.URL(),
		Logger:       slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Handler: func(f *Frame) int {
			h.frames <- f
			return AckOK
		},
		OnConnected: func() { h.connected <- struct{}{} },
		Backoff:     &backoff.Backoff{Min: time.Millisecond, Max: 20 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("stream.New: %v", err)
	}
	h.stream = s
	if prep != nil {
		prep(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

// waitConns waits until the fake accepted n sockets in total.
func (h *harness) waitConns(t *testing.T, n int) {
	t.Helper()
	if err := h.srv.WaitConnections(streamCtx(t), n); err != nil {
		t.Fatalf("%v (logs:\n%s)", err, h.logs)
	}
}

// waitConnected waits for OnConnected: the client side of a socket is up.
func (h *harness) waitConnected(t *testing.T) {
	t.Helper()
	select {
	case <-h.connected:
	case <-streamCtx(t).Done():
		t.Fatalf("OnConnected never called (logs:\n%s)", h.logs)
	}
}

// push sends a bot message and waits for the handler to see it.
func (h *harness) push(t *testing.T, m dingtalktest.BotMessage) (dingtalktest.Pushed, *Frame) {
	t.Helper()
	p, err := h.srv.PushBotMessage(m)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	return p, h.nextFrame(t, p.MessageID)
}

// nextFrame waits for the handler to receive the frame with messageId id.
func (h *harness) nextFrame(t *testing.T, id string) *Frame {
	t.Helper()
	ctx := streamCtx(t)
	for {
		select {
		case f := <-h.frames:
			if f.MessageID() == id {
				return f
			}
		case <-ctx.Done():
			t.Fatalf("handler never got frame %s (logs:\n%s)", id, h.logs)
		}
	}
}

func (h *harness) ack(t *testing.T, id string) dingtalktest.RecordedAck {
	t.Helper()
	a, err := h.srv.WaitAck(streamCtx(t), id)
	if err != nil {
		t.Fatalf("%v (logs:\n%s)", err, h.logs)
	}
	return a
}

// stop cancels Run and returns its result.
func (h *harness) stop(t *testing.T) error {
	t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
		return err
	case <-streamCtx(t).Done():
		t.Fatal("Run did not return after cancel")
		return nil
	}
}
