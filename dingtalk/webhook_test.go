package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
	"picoclaw/internal/testutil"
)

const testSession = "SESSIONxSECRETx0123456789abcdef"

// webhookNet is an in-memory network of webhook servers: a request
// reaches its host's server without a socket, so that a client can run
// in a synctest bubble, where its retry waits pass in fake time.
type webhookNet struct {
	mu      sync.Mutex
	servers map[string]*webhookServer // by host:port
}

func (n *webhookNet) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	s := n.servers[r.URL.Host]
	n.mu.Unlock()
	refused := s == nil
	if s != nil {
		s.mu.Lock()
		s.tries = append(s.tries, time.Now())
		refused = s.closed
		s.mu.Unlock()
	}
	if refused {
		if r.Body != nil {
			r.Body.Close()
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}
	return testutil.HandlerTransport(s.handler).RoundTrip(r)
}

// server adds a server that answers each POST with the next of answers
// (the last one repeating).
func (n *webhookNet) server(answers ...func(w http.ResponseWriter)) *webhookServer {
	n.mu.Lock()
	defer n.mu.Unlock()
	host := fmt.Sprintf("127.0.0.1:%d", 8000+len(n.servers))
	s := &webhookServer{URL: "http://" + host, net: n, answers: answers}
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.bodies)
		s.bodies = append(s.bodies, body)
		s.headers = append(s.headers, r.Header.Clone())
		s.queries = append(s.queries, r.URL.RawQuery)
		answer := s.answers[min(n, len(s.answers)-1)]
		s.mu.Unlock()
		answer(w)
	})
	n.servers[host] = s
	return s
}

// webhookServer answers each POST with the next of answers (the last one
// repeating) and records the requests, and when each try came.
type webhookServer struct {
	URL     string
	net     *webhookNet
	handler http.Handler
	mu      sync.Mutex
	closed  bool
	tries   []time.Time // every try, refused ones too
	answers []func(w http.ResponseWriter)
	bodies  [][]byte
	headers []http.Header
	queries []string
}

// newWebhookServer starts a server on a new in-memory network.
func newWebhookServer(t *testing.T, answers ...func(w http.ResponseWriter)) *webhookServer {
	t.Helper()
	return (&webhookNet{servers: map[string]*webhookServer{}}).server(answers...)
}

// also adds another server (another host) to s's network.
func (s *webhookServer) also(answers ...func(w http.ResponseWriter)) *webhookServer {
	return s.net.server(answers...)
}

// Client is an HTTP client of s's network.
func (s *webhookServer) Client() *http.Client { return &http.Client{Transport: s.net} }

// Close makes s refuse connections from now on.
func (s *webhookServer) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

func (s *webhookServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

// waits returns the pauses between consecutive tries: in a synctest
// bubble, exactly the client's retry waits.
func (s *webhookServer) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(s.tries); i++ {
		if d := s.tries[i].Sub(s.tries[i-1]); d > 0 {
			out = append(out, d)
		}
	}
	return out
}

func (s *webhookServer) webhook() string {
	return s.URL + "/robot/sendBySession?session=" + testSession
}

func fixtureAnswer(t *testing.T, name string) func(w http.ResponseWriter) {
	t.Helper()
	body := readFixture(t, name)
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}
}

func statusAnswer(code int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// testClient returns a client for s that tries three times. Its retry
// waits are real: a test that retries runs in a synctest bubble.
func testClient(s *webhookServer) *webhookClient {
	return &webhookClient{HTTP: s.Client(), APIBase: s.URL, Retry: webhookRetry{Attempts: 3}}
}

func TestSendMarkdownBody(t *testing.T) {
	s := newWebhookServer(t, fixtureAnswer(t, "webhook-ok.json"))
	c := testClient(s)
	text := "# 标题\n<b>bold</b> & \"quotes\"\nline"
	if err := c.SendMarkdown(context.Background(), s.webhook(), "", text, []string{"0123"}); err != nil {
		t.Fatal(err)
	}
	if s.requests() != 1 || len(s.waits()) != 0 {
		t.Fatalf("%d requests, %d waits", s.requests(), len(s.waits()))
	}
	if ct := s.headers[0].Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	raw := string(s.bodies[0])
	if !strings.Contains(raw, "<b>bold</b> &") {
		t.Errorf("body escapes HTML: %s", raw)
	}
	var got struct {
		MsgType  string `json:"msgtype"`
		Markdown struct {
			Title, Text string
		} `json:"markdown"`
		At struct {
			AtUserIDs []string `json:"atUserIds"`
			IsAtAll   *bool    `json:"isAtAll"`
		} `json:"at"`
	}
	if err := json.Unmarshal(s.bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	if got.MsgType != "markdown" || got.Markdown.Text != text || got.Markdown.Title != "标题" {
		t.Errorf("body = %+v", got)
	}
	if len(got.At.AtUserIDs) != 1 || got.At.AtUserIDs[0] != "0123" || got.At.IsAtAll == nil || *got.At.IsAtAll {
		t.Errorf("at = %+v", got.At)
	}
}

func TestSendMarkdownEmptyAtList(t *testing.T) {
	s := newWebhookServer(t, fixtureAnswer(t, "webhook-ok.json"))
	if err := testClient(s).SendMarkdown(context.Background(), s.webhook(), "t", "x", nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(s.bodies[0]), `"at":{"atUserIds":[],"isAtAll":false}`) {
		t.Errorf("body = %s", s.bodies[0])
	}
}

func TestSendMarkdownErrors(t *testing.T) {
	tests := []struct {
		name      string
		answers   func(t *testing.T) []func(http.ResponseWriter)
		requests  int
		check     func(error) bool
		retryable bool
	}{
		{"ok", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){fixtureAnswer(t, "webhook-ok.json")}
		}, 1, func(err error) bool { return err == nil }, false},
		{"130101 retried until it gives up", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){fixtureAnswer(t, "webhook-err-130101-send-too-fast.json")}
		}, 3, isRateLimit, true},
		{"660026 retried until it gives up", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){fixtureAnswer(t, "webhook-err-660026-too-many-per-minute.json")}
		}, 3, isRateLimit, true},
		{"throttled then ok", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){fixtureAnswer(t, "webhook-err-660026-too-many-per-minute.json"), fixtureAnswer(t, "webhook-ok.json")}
		}, 2, func(err error) bool { return err == nil }, false},
		{"300001 session expired, not retried", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){fixtureAnswer(t, "webhook-err-300001-session-not-exist.json")}
		}, 1, func(err error) bool { return errors.Is(err, errSessionExpired) }, false},
		{"460101 body too large, permanent", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){fixtureAnswer(t, "webhook-err-460101-body-too-large.json")}
		}, 1, func(err error) bool { return errors.Is(err, errBodyTooLarge) }, false},
		{"unknown errcode, permanent", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){statusAnswer(200, `{"errcode":400013,"errmsg":"whatever"}`)}
		}, 1, func(err error) bool {
			var we *webhookError
			return errors.As(err, &we) && we.Code == 400013 && strings.Contains(err.Error(), "errcode 400013: whatever")
		}, false},
		{"5xx retried", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){statusAnswer(502, "bad gateway")}
		}, 3, func(err error) bool { return errors.Is(err, picoclaw.ErrTemporary) }, true},
		{"5xx then ok", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){statusAnswer(503, ""), fixtureAnswer(t, "webhook-ok.json")}
		}, 2, func(err error) bool { return err == nil }, false},
		{"non-JSON body", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){statusAnswer(200, "<html>tengine</html>")}
		}, 1, func(err error) bool { return errors.Is(err, picoclaw.ErrBadResponse) }, false},
		{"JSON without errcode", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){statusAnswer(200, `{"ok":true}`)}
		}, 1, func(err error) bool { return errors.Is(err, picoclaw.ErrBadResponse) }, false},
		{"HTTP 400 HTML page", func(t *testing.T) []func(http.ResponseWriter) {
			return []func(http.ResponseWriter){statusAnswer(400, "<html>400 Bad Request</html>")}
		}, 1, func(err error) bool { return errors.Is(err, picoclaw.ErrBadResponse) }, false},
	}
	for _, tt := range tests {
		// In a bubble the retry waits pass in fake time.
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newWebhookServer(t, tt.answers(t)...)
				err := testClient(s).SendMarkdown(context.Background(), s.webhook(), "title", "text", nil)
				sleeps := s.waits()
				if !tt.check(err) {
					t.Fatalf("err = %v", err)
				}
				if got := s.requests(); got != tt.requests {
					t.Errorf("%d requests, want %d", got, tt.requests)
				}
				if len(sleeps) != tt.requests-1 {
					t.Errorf("%d waits between %d requests", len(sleeps), tt.requests)
				}
				if picoclaw.IsRetryable(err) != tt.retryable {
					t.Errorf("IsRetryable(%v) = %v", err, !tt.retryable)
				}
				if err != nil {
					assertNoSecret(t, err)
					if want := "/robot/sendBySession"; !strings.Contains(err.Error(), want) {
						t.Errorf("err = %v, want it to name the webhook path", err)
					}
				}
			})
		})
	}
}

func isRateLimit(err error) bool {
	var rl *picoclaw.RateLimitError
	return errors.As(err, &rl)
}

func assertNoSecret(t *testing.T, err error) {
	t.Helper()
	if strings.Contains(err.Error(), testSession) || strings.Contains(err.Error(), "session=") {
		t.Errorf("error leaks the webhook's session: %v", err)
	}
}

func TestSendMarkdownNetworkErrorHidesSession(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWebhookServer(t, fixtureAnswer(t, "webhook-ok.json"))
		c := testClient(s)
		webhook := s.webhook()
		s.Close() // connection refused from now on
		err := c.SendMarkdown(context.Background(), webhook, "t", "x", nil)
		if !errors.Is(err, picoclaw.ErrTemporary) {
			t.Fatalf("err = %v, want ErrTemporary", err)
		}
		if w := s.waits(); len(w) != 2 {
			t.Errorf("waits %v, want 2 (3 attempts)", w)
		}
		assertNoSecret(t, err)
	})
}

func TestSendMarkdownRetryStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWebhookServer(t, fixtureAnswer(t, "webhook-err-130101-send-too-fast.json"))
		ctx, cancel := context.WithCancel(context.Background())
		c := &webhookClient{HTTP: s.Client(), APIBase: s.URL, Retry: webhookRetry{Attempts: 10}}
		done := make(chan error, 1)
		go func() { done <- c.SendMarkdown(ctx, s.webhook(), "t", "x", nil) }()
		synctest.Wait() // the client waits before its second try
		cancel()        // the caller gives up while it waits
		err := <-done
		if !errors.Is(err, context.Canceled) || !isRateLimit(err) {
			t.Fatalf("err = %v, want context.Canceled wrapping the throttling error", err)
		}
		if s.requests() != 1 {
			t.Errorf("%d requests after cancel, want 1", s.requests())
		}
	})
}

func TestSendMarkdownDefaultBackoffGrows(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newWebhookServer(t, fixtureAnswer(t, "webhook-err-660026-too-many-per-minute.json"))
		c := testClient(s)
		c.Retry.Attempts = 4
		_ = c.SendMarkdown(context.Background(), s.webhook(), "t", "x", nil)
		sleeps := s.waits()
		if len(sleeps) != 3 {
			t.Fatalf("sleeps = %v", sleeps)
		}
		for i, d := range sleeps {
			if d < time.Second || d > 30*time.Second {
				t.Errorf("wait %d = %v, want within the 2s-30s default bounds (with jitter)", i, d)
			}
		}
		if sleeps[2] <= sleeps[0] {
			t.Errorf("waits %v do not grow", sleeps)
		}
	})
}

func TestSendMarkdownDoesNotFollowRedirects(t *testing.T) {
	elsewhere := newWebhookServer(t, fixtureAnswer(t, "webhook-ok.json"))
	s := elsewhere.also(func(w http.ResponseWriter) {
		w.Header().Set("Location", elsewhere.URL+"/steal")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	err := testClient(s).SendMarkdown(context.Background(), s.webhook(), "t", "x", nil)
	if err == nil {
		t.Fatal("a redirect was taken for success")
	}
	if elsewhere.requests() != 0 {
		t.Errorf("the redirect was followed")
	}
}

func TestAllowedWebhook(t *testing.T) {
	c := &webhookClient{APIBase: "http://127.0.0.1:8123"}
	tests := []struct {
		url     string
		ok      bool
		mention string // what a refusal names
	}{
		{"https://oapi.dingtalk.com/robot/sendBySession?session=x", true, ""},
		{"https://dingtalk.com/x", true, ""},
		{"https://OAPI.DingTalk.com/robot", true, ""},
		{"http://127.0.0.1:8123/robot/sendBySession?session=x", true, ""},
		{"https://127.0.0.1:8123/robot", true, ""},
		{"http://oapi.dingtalk.com/robot?session=x", false, "oapi.dingtalk.com"},
		{"https://evil.example/robot?session=x", false, "evil.example"},
		{"https://dingtalk.com.evil.example/robot", false, "dingtalk.com.evil.example"},
		{"https://evildingtalk.com/robot", false, "evildingtalk.com"},
		{"https://oapi.dingtalk.com@evil.example/robot", false, "evil.example"},
		{"http://127.0.0.1:9999/robot", false, "127.0.0.1"},
		{"http://127.0.0.1/robot", false, "127.0.0.1"},
		{"ftp://oapi.dingtalk.com/robot", false, "oapi.dingtalk.com"},
		{"/robot/sendBySession?session=x", false, "no host"},
		{"", false, "no host"},
		{"https://oapi.dingtalk.com/\x7f?session=x", false, "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := c.AllowedWebhook(tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("AllowedWebhook() = %v, want ok %v", err, tt.ok)
			}
			if err != nil {
				if !strings.Contains(err.Error(), tt.mention) {
					t.Errorf("err = %v, want it to name %q", err, tt.mention)
				}
				if strings.Contains(err.Error(), "session=") {
					t.Errorf("err leaks the query: %v", err)
				}
			}
		})
	}
}

func TestAllowedWebhookNoPlaintextForHTTPSBase(t *testing.T) {
	c := &webhookClient{APIBase: "https://api.dingtalk.com"}
	if err := c.AllowedWebhook("http://api.dingtalk.com/robot/sendBySession?session=x"); err == nil {
		t.Error("plain http to the https API host was allowed")
	}
	if err := c.AllowedWebhook("https://api.dingtalk.com/robot/sendBySession?session=x"); err != nil {
		t.Errorf("https to the API host: %v", err)
	}
}

func TestSendMarkdownRefusesForeignHostWithoutPosting(t *testing.T) {
	apiBase := newWebhookServer(t, fixtureAnswer(t, "webhook-ok.json"))
	foreign := apiBase.also(fixtureAnswer(t, "webhook-ok.json"))
	c := testClient(apiBase)
	err := c.SendMarkdown(context.Background(), foreign.webhook(), "t", "x", nil)
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	assertNoSecret(t, err)
	if foreign.requests() != 0 || apiBase.requests() != 0 {
		t.Errorf("a refused webhook was posted to")
	}
}
