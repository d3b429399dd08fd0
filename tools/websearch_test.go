package tools

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"picoclaw"
)

// serveFile answers every request with a testdata file after check has
// looked at the request.
func serveFile(t *testing.T, file, contentType string, status int, check func(*http.Request)) *httptest.Server {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check != nil {
			check(r)
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func search(t *testing.T, tool *WebSearchTool, args map[string]any) (string, error) {
	t.Helper()
	raw, _ := json.Marshal(args)
	return tool.Call(context.Background(), raw)
}

func TestWebSearchDuckDuckGo(t *testing.T) {
	var got *http.Request
	srv := serveFile(t, "testdata/duckduckgo.html", "text/html; charset=utf-8", http.StatusOK, func(r *http.Request) { got = r })
	tool := NewWebSearchTool(WebOptions{DuckDuckGoURL: srv.URL, HTTPClient: srv.Client()})

	out, err := search(t, tool, map[string]any{"query": "dingtalk stream mode"})
	if err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/html/" || got.URL.Query().Get("q") != "dingtalk stream mode" || got.UserAgent() != DefaultUserAgent {
		t.Fatalf("request %s with UA %q", got.URL, got.UserAgent())
	}
	want := `Results for "dingtalk stream mode":

1. Stream Mode DingTalk Open Platform
   https://open.dingtalk.com/document/direct-connection/stream?lang=en
   With Stream mode, your app opens a WebSocket to DingTalk & receives events without a public IP.

2. GitHub - open-dingtalk/dingtalk-stream-sdk-go
   https://github.com/open-dingtalk/dingtalk-stream-sdk-go
   Go SDK for DingTalk Stream Mode: bots, events & card callbacks.

3. Building a DingTalk bot in an afternoon
   https://example.org/blog/dingtalk-bot?a=1&b=2
   No public server needed.
`
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}

	out, err = search(t, tool, map[string]any{"query": "x", "count": 2})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "3.") || !strings.Contains(out, "2. GitHub") || !strings.Contains(out, "card callbacks") {
		t.Fatalf("count 2 output:\n%s", out)
	}
}

func TestWebSearchBrave(t *testing.T) {
	const key = "BSA-test-key"
	var got *http.Request
	srv := serveFile(t, "testdata/brave.json", "application/json", http.StatusOK, func(r *http.Request) { got = r })
	tool := NewWebSearchTool(WebOptions{BraveAPIKey: key, BraveURL: srv.URL, HTTPClient: srv.Client()})

	out, err := search(t, tool, map[string]any{"query": "dingtalk stream mode", "count": 3})
	if err != nil {
		t.Fatal(err)
	}
	q := got.URL.Query()
	if got.URL.Path != "/res/v1/web/search" || q.Get("q") != "dingtalk stream mode" || q.Get("count") != "3" ||
		got.Header.Get("X-Subscription-Token") != key || got.Header.Get("Accept") != "application/json" {
		t.Fatalf("request %s headers %v", got.URL, got.Header)
	}
	want := `Results for "dingtalk stream mode":

1. Stream Mode - DingTalk Open Platform
   https://open.dingtalk.com/document/direct-connection/stream
   With Stream mode your app keeps a WebSocket open to DingTalk & needs no public IP.

2. open-dingtalk/dingtalk-stream-sdk-go - GitHub
   https://github.com/open-dingtalk/dingtalk-stream-sdk-go
   Go SDK for DingTalk Stream Mode.
`
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
}

func TestWebSearchErrors(t *testing.T) {
	const key = "BSA-secret-key"
	tests := []struct {
		name   string
		status int
		file   string
		is     error
		errHas string
	}{
		{"unauthorized", http.StatusUnauthorized, "testdata/brave.json", picoclaw.ErrAuth, "check the API key"},
		{"server error", http.StatusBadGateway, "testdata/brave.json", nil, "unexpected HTTP 502"},
		{"not json", http.StatusOK, "testdata/page.html", picoclaw.ErrBadResponse, "decode response"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := serveFile(t, tc.file, "application/json", tc.status, nil)
			tool := NewWebSearchTool(WebOptions{BraveAPIKey: key, BraveURL: srv.URL, HTTPClient: srv.Client()})
			_, err := search(t, tool, map[string]any{"query": "q"})
			if err == nil || !strings.Contains(err.Error(), tc.errHas) || (tc.is != nil && !errors.Is(err, tc.is)) {
				t.Fatalf("err = %v, want %q (is %v)", err, tc.errHas, tc.is)
			}
			if strings.Contains(err.Error(), key) {
				t.Fatalf("error reveals the API key: %v", err)
			}
		})
	}
	t.Run("rate limited", func(t *testing.T) {
		srv := serveFile(t, "testdata/brave.json", "application/json", http.StatusTooManyRequests, nil)
		tool := NewWebSearchTool(WebOptions{BraveAPIKey: key, BraveURL: srv.URL, HTTPClient: srv.Client()})
		_, err := search(t, tool, map[string]any{"query": "q"})
		var rl *picoclaw.RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("err = %v, want a RateLimitError", err)
		}
	})
	t.Run("empty query", func(t *testing.T) {
		_, err := search(t, NewWebSearchTool(WebOptions{}), map[string]any{"query": "  "})
		if err == nil || !strings.Contains(err.Error(), "query is required") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no results", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`<html><body><div class="no-results">No results.</div></body></html>`))
		}))
		t.Cleanup(srv.Close)
		out, err := search(t, NewWebSearchTool(WebOptions{DuckDuckGoURL: srv.URL}), map[string]any{"query": "zzqx"})
		if err != nil || out != `No results for "zzqx".` {
			t.Fatalf("= %q, %v", out, err)
		}
	})
}

func TestDDGTarget(t *testing.T) {
	tests := map[string]string{
		"//duckduckgo.com/l/?uddg=https%3A%2F%2Fa.example%2Fp%3Fq%3D1&rut=x": "https://a.example/p?q=1",
		"/l/?uddg=https%3A%2F%2Fb.example%2F":                                "https://b.example/",
		"https://duckduckgo.com/y.js?ad_domain=ads.example":                  "",
		"https://direct.example/page":                                        "https://direct.example/page",
		"javascript:alert(1)":                                                "",
	}
	for in, want := range tests {
		if got := ddgTarget(in); got != want {
			t.Errorf("ddgTarget(%q) = %q, want %q", in, got, want)
		}
	}
}
