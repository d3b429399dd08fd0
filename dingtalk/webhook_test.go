package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw"
)

const testSession = "SESSIONxSECRETx0123456789abcdef"

// webhookServer answers each POST with the next of answers (the last one
// repeating) and records the requests.
type webhookServer struct {
	*httptest.Server
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	bodies  [][]byte
	headers []http.Header
	queries []string
}

func newWebhookServer(t *testing.T, answers ...func(w http.ResponseWriter)) *webhookServer {
	t.Helper()
	s := &webhookServer{answers: answers}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.bodies)
		s.bodies = append(s.bodies, body)
		s.headers = append(s.headers, r.Header.Clone())
		s.queries = append(s.queries, r.URL.RawQuery)
		answer := s.answers[min(n, len(s.answers)-1)]
		s.mu.Unlock()
		answer(w)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *webhookServer) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
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

// testClient returns a client for s whose retry waits are recorded, not slept.
func testClient(s *webhookServer, sleeps *[]time.Duration) *webhookClient {
	return &webhookClient{
		HTTP:    s.Client(),
		APIBase: s.URL,
		Retry: webhookRetry{
			Attempts: 3,
			Sleep: func(ctx context.Context, d time.Duration) error {
				*sleeps = append(*sleeps, d)
				return ctx.Err()
			},
		},
	}
}

func TestSendMarkdownBody(t *testing.T) {
	s := newWebhookServer(t, fixtureAnswer(t, "webhook-ok.json"))
	var sleeps []time.Duration
	c := testClient(s, &sleeps)
	text := "# 标题\n<b>bold</b> & \"quotes\"\nline"
	if err := c.SendMarkdown(context.Background(), s.webhook(), "", text, []string{"0123"}); err != nil {
		t.Fatal(err)
	}
	if s.requests() != 1 || len(sleeps) != 0 {
		t.Fatalf("%d requests, %d sleeps", s.requests(), len(sleeps))
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
	var sleeps []time.Duration
	if err := testClient(s, &sleeps).SendMarkdown(context.Background(), s.webhook(), "t", "x", nil); err != nil {
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
		t.Run(tt.name, func(t *testing.T) {
			s := newWebhookServer(t, tt.answers(t)...)
			var sleeps []time.Duration
			err := testClient(s, &sleeps).SendMarkdown(context.Background(), s.webhook(), "title", "text", nil)
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
	s := newWebhookServer(t, fixtureAnswer(t, "webhook-ok.json"))
	var sleeps []time.Duration
	c := testClient(s, &sleeps)
	webhook := s.webhook()
	s.Close() // connection refused from now on
	err := c.SendMarkdown(context.Background(), webhook, "t", "x", nil)
	if !errors.Is(err, picoclaw.ErrTemporary) {
		t.Fatalf("err = %v, want ErrTemporary", err)
	}
	if len(sleeps) != 2 {
		t.Errorf("%d waits, want 2 (3 attempts)", len(sleeps))
	}
	assertNoSecret(t, err)
}

func TestSendMarkdownRetryStopsOnCancel(t *testing.T) {
	s := newWebhookServer(t, fixtureAnswer(t, "webhook-err-130101-send-too-fast.json"))
	ctx, cancel := context.WithCancel(context.Background())
	c := &webhookClient{HTTP: s.Client(), APIBase: s.URL, Retry: webhookRetry{
		Attempts: 10,
		Sleep: func(ctx context.Context, _ time.Duration) error {
			cancel() // the caller gives up while we wait
			return ctx.Err()
		},
	}}
	err := c.SendMarkdown(ctx, s.webhook(), "t", "x", nil)
	if !errors.Is(err, context.Canceled) || !isRateLimit(err) {
		t.Fatalf("err = %v, want context.Canceled wrapping the throttling error", err)
	}
	if s.requests() != 1 {
		t.Errorf("%d requests after cancel, want 1", s.requests())
	}
}

func TestSendMarkdownDefaultBackoffGrows(t *testing.T) {
	s := newWebhookServer(t, fixtureAnswer(t, "webhook-err-660026-too-many-per-minute.json"))
	var sleeps []time.Duration
	c := testClient(s, &sleeps)
	c.Retry.Attempts = 4
	_ = c.SendMarkdown(context.Background(), s.webhook(), "t", "x", nil)
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
}

func TestSendMarkdownDoesNotFollowRedirects(t *testing.T) {
	elsewhere := newWebhookServer(t, fixtureAnswer(t, "webhook-ok.json"))
	s := newWebhookServer(t, func(w http.ResponseWriter) {
		w.Header().Set("Location", elsewhere.URL+"/steal")
		w.WriteHeader(http.StatusTemporaryRedirect)
	})
	var sleeps []time.Duration
	err := testClient(s, &sleeps).SendMarkdown(context.Background(), s.webhook(), "t", "x", nil)
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
	foreign := newWebhookServer(t, fixtureAnswer(t, "webhook-ok.json"))
	var sleeps []time.Duration
	c := testClient(apiBase, &sleeps)
	err := c.SendMarkdown(context.Background(), foreign.webhook(), "t", "x", nil)
	if err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	assertNoSecret(t, err)
	if foreign.requests() != 0 || apiBase.requests() != 0 {
		t.Errorf("a refused webhook was posted to")
	}
}
