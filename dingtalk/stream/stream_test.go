package stream

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/internal/backoff"
)

func TestStreamReceivesAndAcks(t *testing.T) {
	tests := []struct {
		name     string
		code     int
		wantMsg  string
		wantData string
	}{
		{"accepted", AckOK, "OK", `{"response":null}`},
		{"handler failed", AckFailed, "failed", `{"response":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			var h *harness
			h = startStream(t, srv, func(c *Config) {
				c.Handler = func(f *Frame) int { h.frames <- f; return tt.code }
			})
			h.waitConns(t, 1)
			p, f := h.push(t, dingtalktest.BotMessage{Group: true, InAtList: true, Text: " 你好"})
			if f.Type != TypeCallback || f.Topic() != TopicBotMessage || f.Data != p.Data {
				t.Errorf("handler got %+v, want the pushed bot message", f)
			}
			a := h.ack(t, p.MessageID)
			if a.Code != tt.code || a.Message != tt.wantMsg || a.Data != tt.wantData ||
				a.Headers["contentType"] != "application/json" || a.ConnectionID != p.ConnectionID {
				t.Errorf("ack %+v, want code %d", a, tt.code)
			}
			if !h.stream.Connected() {
				t.Error("Connected() = false while a socket is up")
			}
			select {
			case <-h.connected:
			case <-time.After(5 * time.Second):
				t.Error("OnConnected was not called")
			}
		})
	}
}

func TestStreamPingEcho(t *testing.T) {
	srv := newFake(t)
	h := startStream(t, srv, nil)
	h.waitConns(t, 1)
	for _, opaque := range []string{"123-dsfs", `quote " and 汉字`} {
		if err := srv.Ping(streamCtx(t), opaque); err != nil {
			t.Fatalf("Ping(%q): %v", opaque, err)
		}
	}
}

func TestStreamWarmReconnect(t *testing.T) {
	srv := newFake(t)
	srv.DisconnectDelay = time.Hour // only the client may end the old socket
	h := startStream(t, srv, nil)
	h.waitConns(t, 1)
	h.push(t, dingtalktest.BotMessage{Text: "before"})

	oldID, err := srv.Disconnect("connection is expired")
	if err != nil {
		t.Fatal(err)
	}
	h.waitConns(t, 2)

	// A frame still arriving on the draining socket is handled and acked there.
	raw := []byte(`{"specVersion":"1.0","type":"CALLBACK","headers":{"messageId":"late-1","topic":"` +
		TopicBotMessage + `","contentType":"application/json"},"data":"{}"}`)
	if err := srv.PushFrameTo(oldID, raw); err != nil {
		t.Fatal(err)
	}
	h.nextFrame(t, "late-1")
	if a := h.ack(t, "late-1"); a.ConnectionID != oldID || a.Code != AckOK {
		t.Errorf("late ack %+v, want 200 on the old socket %s", a, oldID)
	}

	p, _ := h.push(t, dingtalktest.BotMessage{Text: "after"})
	if p.ConnectionID == oldID {
		t.Fatal("the fake pushed on the draining socket")
	}
	h.ack(t, p.MessageID)

	if err := h.stop(t); err != nil {
		t.Fatalf("Run = %v", err)
	}
	for n := 1; n <= 2; n++ {
		if c, err := srv.WaitClosed(streamCtx(t), n); err != nil || c.CloseCode != 1000 {
			t.Errorf("socket %d: %+v %v, want closed normally", n, c, err)
		}
	}
}

func TestStreamDrainEnds(t *testing.T) {
	tests := []struct {
		name            string
		disconnectDelay time.Duration
		drain           time.Duration
		wantCode        int // close status the fake saw on the old socket
	}{
		{"server closes the old socket", 10 * time.Millisecond, time.Hour, -1},
		{"client closes at the drain deadline", time.Hour, 10 * time.Millisecond, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			srv.DisconnectDelay = tt.disconnectDelay
			h := startStreamWith(t, srv, nil, func(s *Client) { s.drain = tt.drain })
			h.waitConns(t, 1)
			h.push(t, dingtalktest.BotMessage{Text: "x"})
			if _, err := srv.Disconnect("bye"); err != nil {
				t.Fatal(err)
			}
			c, err := srv.WaitClosed(streamCtx(t), 1)
			if err != nil || c.CloseCode != tt.wantCode {
				t.Fatalf("old socket %+v %v, want close code %d", c, err, tt.wantCode)
			}
			h.waitConns(t, 2)
			h.push(t, dingtalktest.BotMessage{Text: "y"})
			if srv.ConnectionCount() != 2 {
				t.Errorf("%d sockets, want 2: a drained socket must not trigger another reconnect", srv.ConnectionCount())
			}
		})
	}
}

func TestStreamReconnects(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		fault func(*dingtalktest.Server)
	}{
		{"dropped TCP", nil, func(s *dingtalktest.Server) { s.CloseClientConnections() }},
		{"zombie socket (dead-man)", func(c *Config) {
			// Short enough for a quick test, long enough that the new
			// socket is not itself given up on a loaded machine (at 30 ms
			// it sometimes was, and the push to it went unanswered).
			c.IdleTimeout, c.PingTimeout = 250*time.Millisecond, 250*time.Millisecond
		}, func(s *dingtalktest.Server) { s.SetZombie(true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			h := startStream(t, srv, tt.mod)
			h.waitConns(t, 1)
			h.push(t, dingtalktest.BotMessage{Text: "one"})
			tt.fault(srv)
			if _, err := srv.WaitClosed(streamCtx(t), 1); err != nil {
				t.Fatal(err)
			}
			h.waitConns(t, 2)
			p, _ := h.push(t, dingtalktest.BotMessage{Text: "two"})
			h.ack(t, p.MessageID)
			if !strings.Contains(h.logs.String(), "dingtalk stream reconnecting") {
				t.Errorf("no reconnect log line:\n%s", h.logs)
			}
		})
	}
}

func TestStreamOddFrames(t *testing.T) {
	srv := newFake(t)
	h := startStream(t, srv, nil)
	h.waitConns(t, 1)
	frames := []struct {
		name     string
		raw      string
		id       string // "" when no ack is expected
		wantCode int
		wantData string
		handled  bool // the handler must see it
	}{
		{name: "garbage", raw: "not json at all"},
		{name: "json array", raw: `[1,2,3]`},
		{name: "unknown system topic", raw: `{"type":"SYSTEM","headers":{"topic":"KEEPALIVE","messageId":"m-sys"},"data":""}`,
			id: "m-sys", wantCode: 200},
		{name: "unknown type", raw: `{"type":"FOO","headers":{"topic":"x","messageId":"m-foo"},"data":""}`,
			id: "m-foo", wantCode: 404},
		{name: "unknown callback topic", raw: `{"type":"CALLBACK","headers":{"topic":"/v1.0/card/instances/callback","messageId":"m-card"},"data":"{}"}`,
			id: "m-card", wantCode: 200, wantData: `{"response":null}`, handled: true},
		{name: "event", raw: `{"specVersion":"1.0","type":"EVENT","headers":{"topic":"*","eventType":"x","messageId":"m-ev"},"data":"{}"}`,
			id: "m-ev", wantCode: 200, wantData: `{"status":"SUCCESS"}`, handled: true},
		{name: "numeric time header", raw: `{"type":"CALLBACK","headers":{"topic":"` + TopicBotMessage + `","messageId":"m-num","time":1690362102194},"data":"{}"}`,
			id: "m-num", wantCode: 200, wantData: `{"response":null}`, handled: true},
		{name: "callback without messageId", raw: `{"type":"CALLBACK","headers":{"topic":"` + TopicBotMessage + `"},"data":"{}"}`},
	}
	for _, f := range frames {
		if err := srv.PushFrame([]byte(f.raw)); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
	}
	// The ping is acked after every frame above: frames are handled in order.
	if err := srv.Ping(streamCtx(t), "after"); err != nil {
		t.Fatalf("stream died on odd frames: %v\n%s", err, h.logs)
	}
	for _, f := range frames {
		t.Run(f.name, func(t *testing.T) {
			if f.handled {
				got := h.nextFrame(t, f.id)
				if f.id == "m-num" && got.Headers["time"] != "1690362102194" {
					t.Errorf("numeric time header became %q", got.Headers["time"])
				}
			}
			if f.id == "" {
				return
			}
			a := h.ack(t, f.id)
			if a.Code != f.wantCode || (f.wantData != "" && a.Data != f.wantData) {
				t.Errorf("ack %+v, want code %d data %s", a, f.wantCode, f.wantData)
			}
		})
	}
	for _, a := range srv.Acks() {
		if a.MessageID == "" {
			t.Errorf("a frame without messageId was acked: %s", a.Raw)
		}
	}
	if !strings.Contains(h.logs.String(), "undecodable frame") {
		t.Errorf("garbage was not logged at warn:\n%s", h.logs)
	}
}

func TestStreamHandlerPanicIsContained(t *testing.T) {
	srv := newFake(t)
	h := startStream(t, srv, func(c *Config) {
		c.Handler = func(*Frame) int { panic("boom") }
	})
	h.waitConns(t, 1)
	p, err := srv.PushBotMessage(dingtalktest.BotMessage{Text: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if a := h.ack(t, p.MessageID); a.Code != AckFailed {
		t.Errorf("ack %+v, want 500", a)
	}
	if err := srv.Ping(streamCtx(t), "alive"); err != nil {
		t.Fatalf("stream died after a handler panic: %v", err)
	}
}

func TestStreamCancelClosesNormally(t *testing.T) {
	srv := newFake(t)
	h := startStream(t, srv, nil)
	h.waitConnected(t)
	if err := h.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil after cancel", err)
	}
	c, err := srv.WaitClosed(streamCtx(t), 1)
	if err != nil || c.CloseCode != 1000 {
		t.Fatalf("socket %+v %v, want a normal closure (1000)", c, err)
	}
	if h.stream.Connected() {
		t.Error("Connected() = true after Run returned")
	}
}

func TestStreamCancelWhileRetrying(t *testing.T) {
	srv := newFake(t)
	srv.FailOpen(500, "{}", 1000)
	h := startStream(t, srv, func(c *Config) {
		c.Backoff = &backoff.Backoff{Min: time.Hour, Max: time.Hour}
	})
	if err := srv.WaitOpens(streamCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := h.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
}

func TestStreamRunTwice(t *testing.T) {
	srv := newFake(t)
	h := startStream(t, srv, nil)
	h.waitConns(t, 1)
	if err := h.stream.Run(streamCtx(t)); err == nil {
		t.Fatal("a second concurrent Run returned nil")
	}
}

func TestAckShapeMatchesFixture(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "dingtalktest", "testdata", "stream-ack-callback.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	_ = json.Unmarshal(b, &want)
	_ = json.Unmarshal(encodeAck("213d841d_972_1898bb26334_70a7", AckOK, ackDataCallback), &got)
	for k, v := range want {
		if fmt.Sprintf("%T", got[k]) != fmt.Sprintf("%T", v) {
			t.Errorf("%s: %T, fixture %T", k, got[k], v)
		}
	}
	if got["headers"].(map[string]any)["messageId"] != "213d841d_972_1898bb26334_70a7" || got["code"] != 200.0 {
		t.Errorf("ack %v", got)
	}
}

// TestRunLeavesNoGoroutines: when Run returns, every goroutine it started
// (readers, dead-man timers, draining sockets) has ended. The scan sees the
// whole process, so streams of earlier tests get a moment to finish; a leak
// outlives that.
func TestRunLeavesNoGoroutines(t *testing.T) {
	srv := newFake(t)
	srv.DisconnectDelay = time.Hour
	h := startStream(t, srv, nil)
	h.waitConns(t, 1)
	h.push(t, dingtalktest.BotMessage{Text: "x"})
	if _, err := srv.Disconnect("bye"); err != nil { // leaves socket 1 draining
		t.Fatal(err)
	}
	h.waitConns(t, 2)
	h.push(t, dingtalktest.BotMessage{Text: "y"})
	if err := h.stop(t); err != nil {
		t.Fatal(err)
	}
	var left []string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		left = left[:0]
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "picoclaw/dingtalk/stream.(*Client)") || strings.Contains(g, "picoclaw/dingtalk/stream.(*streamConn)") ||
				strings.Contains(g, "picoclaw/dingtalk/stream.(*connSet)") {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, g := range left {
		t.Errorf("goroutine left after Run returned:\n%s", g)
	}
}
