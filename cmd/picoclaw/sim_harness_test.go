package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw/internal/testutil"
	"picoclaw/sim"
)

// simHarness runs `picoclaw sim --model echo` in-process on a free port
// and follows its event stream as the page does.
type simHarness struct {
	t    *testing.T
	url  string
	logs *testutil.SyncBuffer

	mu     sync.Mutex
	events []sim.Event
	wake   chan struct{}
}

// simWait bounds every wait: generous, for a loaded 2-core machine.
const simWait = 90 * time.Second

var simURL = regexp.MustCompile(`open (http://\S+) in a browser`)

func startSim(t *testing.T, extra ...string) *simHarness {
	t.Helper()
	return startSimWith(t, append([]string{"--model", "echo"}, extra...)...)
}

// startSimWith runs `picoclaw sim` with these flags on a free port.
func startSimWith(t *testing.T, flags ...string) *simHarness {
	t.Helper()
	out, logs := &testutil.SyncBuffer{}, &testutil.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	e := &env{stdout: out, stderr: logs, getenv: func(string) string { return "" }}
	args := append([]string{"sim", "--addr", "127.0.0.1:0"}, flags...)
	go func() { done <- e.execute(ctx, args) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("sim exited %d; output:\n%s\n%s", code, out.String(), logs.String())
			}
		case <-time.After(simWait):
			t.Error("sim did not stop within its wait after cancellation")
		}
		if t.Failed() {
			t.Logf("sim stdout:\n%s\nsim log:\n%s", out.String(), logs.String())
		}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), simWait)
	defer wcancel()
	if err := out.WaitFor(wctx, "in a browser"); err != nil {
		t.Fatalf("sim printed no URL: %v\n%s\n%s", err, out.String(), logs.String())
	}
	m := simURL.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no URL in %q", out.String())
	}
	h := &simHarness{t: t, url: m[1], logs: logs, wake: make(chan struct{})}
	h.follow(ctx)
	return h
}

// follow reads /api/events until ctx ends.
func (h *simHarness) follow(ctx context.Context) {
	h.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"/api/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("GET /api/events: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		h.t.Fatalf("GET /api/events: Content-Type %q, want text/event-stream", ct)
	}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			data, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok {
				continue
			}
			var ev sim.Event
			if json.Unmarshal([]byte(data), &ev) != nil {
				continue
			}
			h.mu.Lock()
			h.events = append(h.events, ev)
			close(h.wake)
			h.wake = make(chan struct{})
			h.mu.Unlock()
		}
	}()
}

// waitEvent waits for an event that ok accepts and returns it.
func (h *simHarness) waitEvent(what string, ok func(sim.Event) bool) sim.Event {
	h.t.Helper()
	deadline := time.NewTimer(simWait)
	defer deadline.Stop()
	for i := 0; ; {
		h.mu.Lock()
		evs, wake := h.events[i:], h.wake
		i = len(h.events)
		h.mu.Unlock()
		for _, e := range evs {
			if ok(e) {
				return e
			}
		}
		select {
		case <-wake:
		case <-deadline.C:
			h.t.Fatalf("no event: %s within %v", what, simWait)
		}
	}
}

// waitBot waits for a bot message in chat whose text contains sub.
func (h *simHarness) waitBot(chat, sub string) sim.Msg {
	h.t.Helper()
	return *h.waitEvent(fmt.Sprintf("bot message with %q in %s", sub, chat), func(e sim.Event) bool {
		return e.Msg != nil && e.Msg.From == sim.BotID && e.Msg.Chat == chat && strings.Contains(e.Msg.Text, sub)
	}).Msg
}

// waitLog waits for a side-log line containing sub.
func (h *simHarness) waitLog(sub string) {
	h.t.Helper()
	h.waitEvent("log line "+sub, func(e sim.Event) bool { return e.Log != nil && strings.Contains(e.Log.Text, sub) })
}

// waitConnected waits until the gateway holds a Stream socket.
func (h *simHarness) waitConnected() {
	h.t.Helper()
	h.waitEvent("Stream connected", func(e sim.Event) bool { return e.Status != nil && e.Status.Connected })
}

// botMsgs returns the bot messages of chat seen so far, by message id
// (a card's updates collapse into its last state).
func (h *simHarness) botMsgs(chat string) []sim.Msg {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []sim.Msg
	idx := map[string]int{}
	for _, e := range h.events {
		if m := e.Msg; m != nil && m.From == sim.BotID && m.Chat == chat {
			if i, ok := idx[m.ID]; ok {
				out[i] = *m
				continue
			}
			idx[m.ID] = len(out)
			out = append(out, *m)
		}
	}
	return out
}

// post sends body as JSON and decodes the answer into out (if not nil).
func (h *simHarness) post(path string, body, out any) (int, string) {
	h.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(h.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		h.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode, string(raw)
}

// send posts a message and fails the test unless it was accepted.
func (h *simHarness) send(req sim.SendRequest) {
	h.t.Helper()
	if code, body := h.post("/api/send", req, nil); code != http.StatusOK {
		h.t.Fatalf("send %+v: HTTP %d %s", req, code, body)
	}
}

// user returns the staff id of the simulated user called nick.
func (h *simHarness) user(nick string) string {
	h.t.Helper()
	return h.waitEvent("user "+nick, func(e sim.Event) bool { return e.User != nil && e.User.Nick == nick }).User.StaffID
}

// chat returns the chat titled title.
func (h *simHarness) chat(title string) sim.Chat {
	h.t.Helper()
	return *h.waitEvent("chat "+title, func(e sim.Event) bool { return e.Chat != nil && e.Chat.Title == title }).Chat
}

// get returns the body of GET path.
func (h *simHarness) get(path string) string {
	h.t.Helper()
	resp, err := http.Get(h.url + path)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
