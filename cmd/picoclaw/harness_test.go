package main

import (
	"context"
	"encoding/json"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"

	"picoclaw/internal/testutil"
)

// gatewayHarness runs the real gateway command in-process against the fake
// DingTalk and the fake LLM.
type gatewayHarness struct {
	t         *testing.T
	dt        *dingtalktest.Server
	llm       *providertest.OpenAI
	workspace string
	dataDir   string
	cfgPath   string

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan int
	logs   *testutil.SyncBuffer
	getenv func(string) string
	port   int
	// tuning shortens the in-process gateway's waits (retries, timeouts).
	tuning gatewayTuning
}

type harnessOptions struct {
	allowFrom          []string
	reasoningChannelID string
	// defaults are extra agents.defaults keys (e.g. turn_timeout).
	defaults map[string]any
	tools    map[string]any // the config's tools section, if set
	storage  map[string]any // the config's storage section, if set
}

func newGatewayHarness(t *testing.T, opts harnessOptions) *gatewayHarness {
	t.Helper()
	dt := dingtalktest.NewServer()
	t.Cleanup(dt.Close)
	llm := providertest.NewOpenAI()
	t.Cleanup(llm.Close)
	port := freePort(t)
	h := &gatewayHarness{t: t, dt: dt, llm: llm, workspace: t.TempDir(), dataDir: t.TempDir(), logs: &testutil.SyncBuffer{}, port: port}
	cfg := map[string]any{
		"version": 2,
		"agents": map[string]any{"defaults": map[string]any{
			"workspace": h.workspace, "data_dir": h.dataDir, "model_name": "gpt", "max_tokens": 8192, "max_tool_iterations": 20,
		}},
		"model_list": []any{map[string]any{
			"model_name": "gpt", "model": "openai/gpt-4o-mini", "api_base": llm.URL(), "api_keys": []string{"sk-test-key"},
		}},
		"channels": map[string]any{"dingtalk": map[string]any{
			"enabled": true, "client_id": "test-client-id", "client_secret": "test-client-secret",
			"allow_from": opts.allowFrom, "group_trigger": map[string]any{"mention_only": true},
			"reasoning_channel_id": opts.reasoningChannelID, "api_base": dt.URL(),
		}},
		"gateway": map[string]any{"host": "127.0.0.1", "port": port},
	}
	maps.Copy(cfg["agents"].(map[string]any)["defaults"].(map[string]any), opts.defaults)
	if opts.tools != nil {
		cfg["tools"] = opts.tools
	}
	if opts.storage != nil {
		cfg["storage"] = opts.storage
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	h.cfgPath = filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(h.cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("gateway logs:\n%s", h.logs.String())
		}
	})
	return h
}

// start runs `picoclaw gateway` and waits until the stream is connected.
func (h *gatewayHarness) start() {
	h.t.Helper()
	before := h.dt.ConnectionCount()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	getenv := h.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	e := &env{stdout: h.logs, stderr: h.logs, getenv: getenv, tuning: h.tuning}
	go func() { done <- e.execute(ctx, []string{"gateway", "--config", h.cfgPath, "--log-level", "debug"}) }()
	h.mu.Lock()
	h.cancel, h.done = cancel, done
	h.mu.Unlock()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := h.dt.WaitConnections(wctx, before+1); err != nil {
		h.t.Fatalf("gateway did not connect: %v", err)
	}
}

// stop sends the equivalent of SIGINT and returns the exit code.
func (h *gatewayHarness) stop() int {
	h.mu.Lock()
	cancel, done := h.cancel, h.done
	h.cancel, h.done = nil, nil
	h.mu.Unlock()
	if cancel == nil {
		return -1
	}
	cancel()
	select {
	case code := <-done:
		return code
	case <-time.After(30 * time.Second):
		h.t.Fatal("gateway did not stop within 30s of cancellation")
		return -1
	}
}

// waitReplies waits until the fake DingTalk holds n replies in total.
func (h *gatewayHarness) waitReplies(n int) []dingtalktest.Reply {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	r, err := h.dt.WaitReplies(ctx, n)
	if err != nil {
		h.t.Fatalf("waiting for %d replies (have %d): %v", n, len(h.dt.Replies()), err)
	}
	return r
}

func (h *gatewayHarness) push(m dingtalktest.BotMessage) dingtalktest.Pushed {
	h.t.Helper()
	p, err := h.dt.PushBotMessage(m)
	if err != nil {
		h.t.Fatalf("push: %v", err)
	}
	return p
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func findAck(dt *dingtalktest.Server, messageID string) (dingtalktest.RecordedAck, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ack, err := dt.WaitAck(ctx, messageID)
	return ack, err == nil
}

func waitConnections(t *testing.T, dt *dingtalktest.Server, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := dt.WaitConnections(ctx, n); err != nil {
		t.Fatalf("waiting for connection %d: %v", n, err)
	}
}

func dingtalktestMessage(text string) dingtalktest.BotMessage {
	return dingtalktest.BotMessage{Text: text}
}
