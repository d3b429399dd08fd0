package tools

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
)

// newSite serves a small site on 127.0.0.1 and counts the requests.
func newSite(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	page, err := os.ReadFile("testdata/page.html")
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.HandleFunc("/plain", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(strings.Repeat("abcdefghij", 100)))
	})
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(strings.Repeat("x", MaxFetchBody+500)))
	})
	mux.HandleFunc("/binary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write([]byte{0x89, 'P', 'N', 'G'})
	})
	mux.HandleFunc("/ua", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(r.UserAgent()))
	})
	mux.Handle("/old", http.RedirectHandler("/page", http.StatusFound))
	mux.Handle("/loop", http.RedirectHandler("/loop", http.StatusFound))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func fetch(t *testing.T, tool *WebFetchTool, args map[string]any) (string, error) {
	t.Helper()
	raw, _ := json.Marshal(args)
	return tool.Call(context.Background(), raw)
}

func TestWebFetch(t *testing.T) {
	srv, _ := newSite(t)
	tool, err := NewWebFetchTool(WebOptions{AllowPrivate: true, HTTPClient: srv.Client(), UserAgent: "test-agent/1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    map[string]any
		has     []string
		hasNot  []string
		wantErr string
	}{
		{name: "html page", args: map[string]any{"url": srv.URL + "/page"},
			has:    []string{"URL: " + srv.URL + "/page\n", "Title: Release notes & more\n", "# Release notes", "[the install guide](" + srv.URL + "/docs/install?x=1&y=2)"},
			hasNot: []string{"color: red", "alert", "Home", "truncated"}},
		{name: "redirect followed", args: map[string]any{"url": srv.URL + "/old"}, has: []string{"URL: " + srv.URL + "/page\n", "# Release notes"}},
		{name: "plain text", args: map[string]any{"url": srv.URL + "/plain"}, has: []string{strings.Repeat("abcdefghij", 100)}, hasNot: []string{"truncated"}},
		{name: "max_chars", args: map[string]any{"url": srv.URL + "/plain", "max_chars": 150},
			has: []string{"\n\n" + strings.Repeat("abcdefghij", 15) + "\n\n[truncated:"}},
		{name: "body cap", args: map[string]any{"url": srv.URL + "/huge"}, has: []string{"[truncated:"}},
		{name: "user agent", args: map[string]any{"url": srv.URL + "/ua"}, has: []string{"test-agent/1"}},
		{name: "404", args: map[string]any{"url": srv.URL + "/missing"}, wantErr: "HTTP 404 Not Found"},
		{name: "binary", args: map[string]any{"url": srv.URL + "/binary"}, wantErr: `content type "image/png"`},
		{name: "redirect loop", args: map[string]any{"url": srv.URL + "/loop"}, wantErr: "stopped after 5 redirects"},
		{name: "no scheme", args: map[string]any{"url": "example.com"}, wantErr: "absolute http or https URL"},
		{name: "file scheme", args: map[string]any{"url": "file:///etc/passwd"}, wantErr: "absolute http or https URL"},
		{name: "bad args", args: map[string]any{"url": 7}, wantErr: `expected a JSON object like {"url"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fetch(t, tool, tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.has {
				if !strings.Contains(got, s) {
					t.Errorf("output lacks %q:\n%s", s, got)
				}
			}
			for _, s := range tc.hasNot {
				if strings.Contains(got, s) {
					t.Errorf("output contains %q:\n%s", s, got)
				}
			}
		})
	}
}

func TestWebFetchRefusesPrivate(t *testing.T) {
	srv, hits := newSite(t)
	tool, err := NewWebFetchTool(WebOptions{})
	if err != nil {
		t.Fatal(err)
	}
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	for _, u := range []string{
		srv.URL + "/page",                    // literal 127.0.0.1
		"http://localhost" + port + "/page",  // a name that resolves to loopback
		"http://[::ffff:127.0.0.1]" + port,   // IPv4-mapped IPv6
		"http://169.254.169.254/latest/meta", // cloud metadata (refused before dialing)
		"http://2852039166/latest/meta",      // the same in decimal, refused before any DNS query
		"http://0251.0376.0251.0376/",        // and in octal
	} {
		t.Run(u, func(t *testing.T) {
			_, err := fetch(t, tool, map[string]any{"url": u})
			if !errors.Is(err, ErrPrivateAddress) {
				t.Fatalf("err = %v, want ErrPrivateAddress", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback server got %d requests", n)
	}
}

type otherTransport struct{}

func (otherTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, errors.New("no") }

func TestWebFetchNeedsGuardableTransport(t *testing.T) {
	c := &http.Client{Transport: otherTransport{}}
	if _, err := NewWebFetchTool(WebOptions{HTTPClient: c}); err == nil {
		t.Fatal("accepted a transport whose dialer cannot be guarded")
	}
	if _, err := NewWebFetchTool(WebOptions{HTTPClient: c, AllowPrivate: true}); err != nil {
		t.Fatalf("AllowPrivate with a custom transport: %v", err)
	}
}
