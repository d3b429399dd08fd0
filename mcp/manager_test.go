package mcp

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"picoclaw"

	"picoclaw/internal/testutil"
)

// connect runs Connect and closes the manager when the test ends.
func connect(t *testing.T, servers map[string]ServerConfig, logger *slog.Logger) *Manager {
	t.Helper()
	m, err := Connect(t.Context(), servers, logger)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

func toolByName(t *testing.T, m *Manager, name string) picoclaw.Tool {
	t.Helper()
	var names []string
	for _, tl := range m.Tools() {
		if tl.Def().Name == name {
			return tl
		}
		names = append(names, tl.Def().Name)
	}
	t.Fatalf("no tool %s; have %q", name, names)
	return nil
}

func stdioServer(extraEnv map[string]string) ServerConfig {
	env := map[string]string{serveEnv: "stdio"}
	for k, v := range extraEnv {
		env[k] = v
	}
	return ServerConfig{Command: os.Args[0], Env: env}
}

func TestManagerTransports(t *testing.T) {
	ts := newHTTPServer(t, "k1")
	tests := []struct {
		name string
		cfg  ServerConfig
	}{
		{"stdio", stdioServer(nil)},
		{"http", ServerConfig{Type: "http", URL: ts.URL, Headers: map[string]string{"X-Api-Key": "k1"}}},
		{"sse", ServerConfig{Type: "sse", URL: ts.URL, Headers: map[string]string{"X-Api-Key": "k1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := connect(t, map[string]ServerConfig{"srv": tt.cfg}, nil)
			var names []string
			for _, tl := range m.Tools() {
				names = append(names, tl.Def().Name)
			}
			want := []string{"mcp_srv_echo", "mcp_srv_fail", "mcp_srv_getenv", toolName("srv", "mixed.parts")}
			slices.Sort(names)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Fatalf("tools = %q, want %q", names, want)
			}

			echo := toolByName(t, m, "mcp_srv_echo")
			def := echo.Def()
			if !strings.Contains(def.Description, "Echo the text back.") || !strings.Contains(string(def.Parameters), `"text"`) {
				t.Errorf("def = %s / %s, want the server's description and schema", def.Description, def.Parameters)
			}
			got, err := echo.Call(t.Context(), json.RawMessage(`{"text":"你好"}`))
			if err != nil || got != "echo: 你好" {
				t.Errorf("echo = %q, %v", got, err)
			}

			_, err = toolByName(t, m, "mcp_srv_fail").Call(t.Context(), nil)
			if err == nil || err.Error() != "disk full" {
				t.Errorf("fail: err = %v, want the tool's error text", err)
			}

			got, err = toolByName(t, m, toolName("srv", "mixed.parts")).Call(t.Context(), json.RawMessage(`{}`))
			want2 := "a chart:\n[image image/png, 4 bytes, not shown]\n[resource report: file:///r.pdf]"
			if err != nil || got != want2 {
				t.Errorf("mixed = %q, %v; want %q", got, err, want2)
			}
		})
	}
}

func TestStdioServerEnv(t *testing.T) {
	t.Setenv("PICOCLAW_PROBE_SECRET", "do-not-pass")
	m := connect(t, map[string]ServerConfig{"env": stdioServer(map[string]string{"EXTRA": "given"})}, nil)
	getenv := toolByName(t, m, "mcp_env_getenv")
	for name, want := range map[string]string{"EXTRA": "[given]", "PICOCLAW_PROBE_SECRET": "[]"} {
		got, err := getenv.Call(t.Context(), json.RawMessage(`{"name":"`+name+`"}`))
		if err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestFailingServersSkipped(t *testing.T) {
	closed := httptest.NewServer(nil)
	closedURL := closed.URL + "/mcp?token=secret-in-query"
	closed.Close()
	auth := newHTTPServer(t, "right-key")

	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := connect(t, map[string]ServerConfig{
		"good":    stdioServer(nil),
		"missing": {Command: "/nonexistent/mcp-server"},
		"exits":   {Command: os.Args[0], Env: map[string]string{serveEnv: "exit"}},
		"refused": {URL: closedURL},
		"denied":  {Type: "http", URL: auth.URL, Headers: map[string]string{"X-Api-Key": "wrong-key-value"}},
		"empty":   {},
	}, logger)

	for _, tl := range m.Tools() {
		if !strings.HasPrefix(tl.Def().Name, "mcp_good_") {
			t.Errorf("tool %s from a failed server", tl.Def().Name)
		}
	}
	if len(m.Tools()) != 4 {
		t.Errorf("%d tools, want the good server's 4", len(m.Tools()))
	}
	out := logs.String()
	for _, name := range []string{"missing", "exits", "refused", "denied", "empty"} {
		if !strings.Contains(out, `msg="mcp: server skipped" server=`+name+" ") {
			t.Errorf("no skip logged for %s:\n%s", name, out)
		}
	}
	for _, secret := range []string{"secret-in-query", "wrong-key-value"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs leak %q:\n%s", secret, out)
		}
	}
}

func TestConnectNothing(t *testing.T) {
	m := connect(t, nil, nil)
	if len(m.Tools()) != 0 {
		t.Errorf("tools = %v", m.Tools())
	}
}

func TestConnectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m, err := Connect(ctx, map[string]ServerConfig{"s": stdioServer(nil)}, nil)
	if err == nil || m != nil {
		t.Errorf("Connect = %v, %v; want the context's error", m, err)
	}
}

func TestCallAfterClose(t *testing.T) {
	m, err := Connect(t.Context(), map[string]ServerConfig{"s": stdioServer(nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	echo := toolByName(t, m, "mcp_s_echo")
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := echo.Call(t.Context(), json.RawMessage(`{"text":"x"}`)); err == nil || !strings.Contains(err.Error(), "mcp: call echo on server s") {
		t.Errorf("call after close: err = %v", err)
	}
}
