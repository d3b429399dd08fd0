package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw"

	"picoclaw/internal/testutil"
)

const (
	testAppKey    = "dingAPPKEYxxxxxxxxxx"
	testAppSecret = "APPxSECRETxMUSTxNOTxLEAK"
	testToken     = "fw8ef8we8f76e6f7s8dxxxx" // the token of openapi-accessToken-response.json
)

// apiCall is one request the scripted API server received, and when.
type apiCall struct {
	path, token string
	body        []byte
	at          time.Time
}

// apiServer answers each path with its queued answers in turn (the last
// one repeating); the token path answers the fixture unless scripted. It
// serves in memory (testutil.HandlerTransport), so its clients can run in
// a synctest bubble.
type apiServer struct {
	URL     string
	handler http.Handler
	mu      sync.Mutex
	answers map[string][]func(w http.ResponseWriter)
	calls   []apiCall
}

func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	s := &apiServer{URL: "http://api.dingtalk.test", answers: map[string][]func(w http.ResponseWriter){
		tokenPath: {fixtureAnswer(t, "openapi-accessToken-response.json")},
	}}
	s.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.calls = append(s.calls, apiCall{r.URL.Path, r.Header.Get(accessTokenHeader), body, time.Now()})
		q := s.answers[r.URL.Path]
		var answer func(w http.ResponseWriter)
		switch len(q) {
		case 0:
			answer = statusAnswer(http.StatusNotFound, "<html><body><h1>404 Not Found</h1></body></html>")
		case 1:
			answer = q[0]
		default:
			answer, s.answers[r.URL.Path] = q[0], q[1:]
		}
		s.mu.Unlock()
		answer(w)
	})
	return s
}

func (s *apiServer) script(path string, answers ...func(w http.ResponseWriter)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[path] = answers
}

func (s *apiServer) callsTo(path string) []apiCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []apiCall
	for _, c := range s.calls {
		if c.path == path {
			out = append(out, c)
		}
	}
	return out
}

// newTestOpenAPI returns a client of s. Its retry waits are real: run a
// test that retries in a synctest bubble.
func newTestOpenAPI(t *testing.T, s *apiServer, logs io.Writer) *Client {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	a, err := New(Config{
		ClientID: testAppKey, ClientSecret: testAppSecret, APIBase: s.URL,
		HTTPClient: &http.Client{Transport: testutil.HandlerTransport(s.handler)},
		Logger:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func jsonAnswer(status int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func fixtureStatusAnswer(t *testing.T, status int, name string) func(w http.ResponseWriter) {
	t.Helper()
	return jsonAnswer(status, string(readFixture(t, name)))
}

func TestNewOpenAPIDefaults(t *testing.T) {
	tests := []struct {
		name             string
		cfg              Config
		api, oapi, robot string
		wantErr          bool
	}{
		{"real hosts", Config{ClientID: "k", ClientSecret: "s"}, DefaultAPIBase, DefaultOAPIBase, "k", false},
		{"fake host serves both", Config{ClientID: "k", ClientSecret: "s", APIBase: "http://127.0.0.1:1/", RobotCode: "r"},
			"http://127.0.0.1:1", "http://127.0.0.1:1", "r", false},
		{"missing secret", Config{ClientID: "k"}, "", "", "", true},
		{"bad base", Config{ClientID: "k", ClientSecret: "s", APIBase: "ftp://x"}, "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg)
			if tt.wantErr {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.apiBase != tt.api || a.oapiBase != tt.oapi || a.RobotCode() != tt.robot {
				t.Errorf("api %q oapi %q robot %q", a.apiBase, a.oapiBase, a.RobotCode())
			}
		})
	}
}

func TestAPIErrorKinds(t *testing.T) {
	a := &Client{cfg: Config{ClientSecret: testAppSecret}}
	tests := []struct {
		name     string
		status   int
		body     string
		kind     error // nil: none
		rate     bool
		code     string
		contains string
	}{
		{"expired token (fixture)", 400, string(readFixture(t, "openapi-error-400-InvalidAuthentication.json")),
			picoclaw.ErrAuth, false, "InvalidAuthentication", "30EE8654-1AA2-7D88-8248-9518547248AA"},
		{"bad credentials (fixture)", 400, string(readFixture(t, "openapi-error-400-invalidClientIdOrSecret.json")),
			picoclaw.ErrAuth, false, "invalidClientIdOrSecret", "无效的clientId或者clientSecret"},
		{"permission denied (fixture)", 403, string(readFixture(t, "openapi-error-permission-denied.json")),
			picoclaw.ErrAuth, false, "Forbidden.AccessDenied.AccessTokenPermissionDenied", "required scopes: Contact.User.Read"},
		{"qps limit", 403, `{"code":"Forbidden.AccessDenied.QpsLimitForApi","message":"限流","requestid":"r1"}`,
			nil, true, "Forbidden.AccessDenied.QpsLimitForApi", "HTTP 403"},
		{"qps limit per app", 403, `{"code":"Forbidden.AccessDenied.QpsLimitForAppkeyAndApi","message":"限流"}`,
			nil, true, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", "限流"},
		{"401 without body", 401, "", picoclaw.ErrAuth, false, "", "HTTP 401"},
		{"server error", 503, `{"code":"ServiceUnavailable","message":"busy"}`, picoclaw.ErrTemporary, false, "ServiceUnavailable", "busy"},
		{"HTML page", 400, "<html><head><title>400 Bad Request</title></head><body><center><h1>400 Bad Request</h1></center><hr><center>tengine</center></body></html>",
			nil, false, "", "400 Bad Request 400 Bad Request tengine"},
		{"echoed secret is masked", 400, `{"code":"invalidParameter","message":"bad appSecret ` + testAppSecret + `"}`,
			nil, false, "invalidParameter", "bad appSecret [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := a.apiError(tt.status, []byte(tt.body), "")
			if e.Code != tt.code || e.Status != tt.status {
				t.Errorf("code %q status %d", e.Code, e.Status)
			}
			msg := e.Error()
			if !strings.Contains(msg, tt.contains) || strings.Contains(msg, testAppSecret) || strings.Contains(msg, "<") {
				t.Errorf("Error() = %q, want it to contain %q", msg, tt.contains)
			}
			var rl *picoclaw.RateLimitError
			if got := errors.As(e, &rl); got != tt.rate {
				t.Errorf("rate limit = %v, want %v", got, tt.rate)
			}
			for _, k := range []error{picoclaw.ErrAuth, picoclaw.ErrTemporary} {
				if errors.Is(e, k) != (k == tt.kind) {
					t.Errorf("errors.Is(%v) = %v", k, errors.Is(e, k))
				}
			}
		})
	}
}

func TestOpenAPISendGroupRequest(t *testing.T) {
	s := newAPIServer(t)
	s.script(groupSendPath, fixtureAnswer(t, "robot-groupMessages-send-response.json"))
	a := newTestOpenAPI(t, s, nil)
	const cid = "cidAbC+dEf/GhI=="
	if err := a.SendGroup(context.Background(), cid, MarkdownMessage("标题", "<b>x</b> & \"y\"")); err != nil {
		t.Fatal(err)
	}
	calls := s.callsTo(groupSendPath)
	if len(calls) != 1 || calls[0].token != testToken {
		t.Fatalf("calls %+v, want one with the fixture's token", calls)
	}
	var body map[string]any
	if err := json.Unmarshal(calls[0].body, &body); err != nil {
		t.Fatal(err)
	}
	param, ok := body["msgParam"].(string)
	if !ok || body["robotCode"] != testAppKey || body["openConversationId"] != cid || body["msgKey"] != "sampleMarkdown" {
		t.Fatalf("body %s", calls[0].body)
	}
	var p map[string]string
	if err := json.Unmarshal([]byte(param), &p); err != nil || p["title"] != "标题" || p["text"] != "<b>x</b> & \"y\"" {
		t.Errorf("msgParam %q (%v)", param, err)
	}
	if bytes.Contains(calls[0].body, []byte(`\u003c`)) {
		t.Errorf("body escapes HTML: %s", calls[0].body)
	}
}

func TestOpenAPISendDirectAnswers(t *testing.T) {
	tests := []struct {
		name     string
		answer   string
		rate     bool
		contains string // "" means success
	}{
		{"accepted", `{"processQueryKey":"k","invalidStaffIdList":[],"flowControlledStaffIdList":[]}`, false, ""},
		{"fixture: invalid and flow-controlled", string(readFixture(t, "robot-batchSend-response.json")), false, "manage25231"},
		{"flow-controlled only", `{"processQueryKey":"k","invalidStaffIdList":[],"flowControlledStaffIdList":["0123"]}`, true, "0123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAPIServer(t)
			s.script(batchSendPath, jsonAnswer(200, tt.answer))
			a := newTestOpenAPI(t, s, nil)
			err := a.SendDirect(context.Background(), []string{"0123", "manage25231"}, TextMessage("hi"))
			if tt.contains == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("err = %v, want one naming %s", err, tt.contains)
			}
			var rl *picoclaw.RateLimitError
			if errors.As(err, &rl) != tt.rate {
				t.Errorf("rate limit error = %v, want %v", errors.As(err, &rl), tt.rate)
			}
			if n := len(s.callsTo(batchSendPath)); n != 1 {
				t.Errorf("%d batchSend calls, want 1 (a partial refusal is not retried)", n)
			}
			var body struct {
				UserIDs  []string `json:"userIds"`
				MsgKey   string   `json:"msgKey"`
				MsgParam string   `json:"msgParam"`
			}
			_ = json.Unmarshal(s.callsTo(batchSendPath)[0].body, &body)
			if len(body.UserIDs) != 2 || body.MsgKey != "sampleText" || body.MsgParam != `{"content":"hi"}` {
				t.Errorf("body %+v", body)
			}
		})
	}
}

func TestOpenAPIMessageParams(t *testing.T) {
	tests := []struct {
		msg       Message
		key, want string
	}{
		{MarkdownMessage("t", "x"), "sampleMarkdown", `{"title":"t","text":"x"}`},
		{TextMessage("x"), "sampleText", `{"content":"x"}`},
		{FileMessage("@lAz", "a.pdf", "pdf"), "sampleFile", `{"mediaId":"@lAz","fileName":"a.pdf","fileType":"pdf"}`},
		{ImageMessage("@lAy"), "sampleImageMsg", `{"photoURL":"@lAy"}`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := tt.msg.param()
			if err != nil || got != tt.want || tt.msg.MsgKey != tt.key {
				t.Errorf("%s %s, %v; want %s %s", tt.msg.MsgKey, got, err, tt.key, tt.want)
			}
		})
	}
}
