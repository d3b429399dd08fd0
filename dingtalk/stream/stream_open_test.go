package stream

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/internal/backoff"
)

func TestStreamOpenRequest(t *testing.T) {
	srv := newFake(t)
	h := startStream(t, srv, func(c *Config) { c.UserAgent = "picoclaw/v1.2.3" })
	h.waitConns(t, 1)
	r := srv.OpenRequests()[0]
	if !r.SecretOK || r.ClientID != srv.ClientID || r.Accept != "application/json" ||
		!strings.HasPrefix(r.ContentType, "application/json") || r.UA != "picoclaw/v1.2.3" {
		t.Errorf("open request %+v", r)
	}
	want := map[dingtalktest.Subscription]bool{
		{Type: "CALLBACK", Topic: TopicBotMessage}:   true,
		{Type: "CALLBACK", Topic: TopicCardCallback}: true,
		{Type: "SYSTEM", Topic: "ping"}:              true,
		{Type: "SYSTEM", Topic: "disconnect"}:        true,
	}
	for _, sub := range r.Subscriptions {
		delete(want, sub)
	}
	if len(want) != 0 {
		t.Errorf("subscriptions %v lack %v", r.Subscriptions, want)
	}
}

func TestStreamBadCredentials(t *testing.T) {
	fixture := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "dingtalktest", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tests := []struct {
		name    string
		setup   func(s *dingtalktest.Server)
		wantMsg string
	}{
		{"401 authFailed", func(s *dingtalktest.Server) { s.SetCredentials(s.ClientID, "rotated") },
			"dingtalk: open connection: credentials rejected (401 authFailed: 鉴权失败); check channels.dingtalk.client_id/client_secret"},
		{"401 fixture body", func(s *dingtalktest.Server) {
			s.FailOpen(http.StatusUnauthorized, fixture("stream-connections-open-error-401-authFailed.json"), 1)
		}, "credentials rejected (401 authFailed: 鉴权失败)"},
		{"403 html", func(s *dingtalktest.Server) {
			s.FailOpen(http.StatusForbidden, "<html><body><h1>403 Forbidden</h1></body></html>", 1)
		}, "credentials rejected (403 Forbidden: 403 Forbidden)"},
		{"400 invalidClientIdOrSecret", func(s *dingtalktest.Server) {
			s.FailOpen(http.StatusBadRequest, `{"code":"invalidClientIdOrSecret","message":"无效的clientId或者clientSecret"}`, 1)
		}, "credentials rejected (400 invalidClientIdOrSecret: 无效的clientId或者clientSecret)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			secret := srv.ClientSecret
			tt.setup(srv)
			h := startStream(t, srv, func(c *Config) {
				c.ClientSecret = secret
				c.Backoff = &backoff.Backoff{Min: time.Hour, Max: time.Hour} // a retry would hang the test
			})
			var err error
			select {
			case err = <-h.done:
				h.done <- err
			case <-streamCtx(t).Done():
				t.Fatal("Run kept retrying rejected credentials")
			}
			if !errors.Is(err, picoclaw.ErrAuth) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Run = %v, want ErrAuth with %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(h.logs.String(), secret) {
				t.Error("the secret leaked into the error or the logs")
			}
			if n := srv.OpenCount(); n != 1 {
				t.Errorf("%d open attempts, want 1", n)
			}
		})
	}
}

func TestStreamAuthAfterSuccessKeepsRetrying(t *testing.T) {
	srv := newFake(t)
	h := startStream(t, srv, nil)
	h.waitConns(t, 1)
	srv.SetCredentials(srv.ClientID, "rotated")
	srv.CloseClientConnections()
	// Two rejected opens prove Run neither returned nor stopped retrying.
	waited := make(chan error, 1)
	go func() { waited <- srv.WaitOpens(streamCtx(t), 3) }()
	select {
	case err := <-h.done:
		t.Fatalf("Run returned %v after a success; want it to keep retrying", err)
	case err := <-waited:
		if err != nil {
			t.Fatalf("no retry after the credentials were rejected: %v", err)
		}
	}
	if !strings.Contains(h.logs.String(), "credentials rejected") {
		t.Errorf("no error log for rejected credentials:\n%s", h.logs)
	}
	srv.SetCredentials(srv.ClientID, h.stream.cfg.ClientSecret)
	h.waitConns(t, 2)
}

func TestStreamRetriesOpenFailures(t *testing.T) {
	systemError, err := os.ReadFile(filepath.Join("..", "dingtalktest", "testdata", "stream-connections-open-error-400-systemError.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		status  int
		body    string
		times   int
		wantLog string
	}{
		{"400 systemError", 400, string(systemError), 2, "HTTP 400 systemError: 系统错误"},
		{"400 html page", 400, "<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body><center>tengine</center></body></html>", 2,
			"HTTP 400 \\\"400 The plain HTTP request was sent to HTTPS port tengine\\\""},
		{"502 empty", 502, "", 1, "HTTP 502 empty body"},
		{"200 without ticket", 200, `{"endpoint":"ws://x/connect"}`, 1, "HTTP 200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			srv.FailOpen(tt.status, tt.body, tt.times)
			h := startStream(t, srv, nil)
			h.waitConns(t, 1)
			p, _ := h.push(t, dingtalktest.BotMessage{Text: "hi"})
			h.ack(t, p.MessageID)
			if n := srv.OpenCount(); n != tt.times+1 {
				t.Errorf("%d open attempts, want %d", n, tt.times+1)
			}
			if !strings.Contains(h.logs.String(), tt.wantLog) {
				t.Errorf("logs lack %q:\n%s", tt.wantLog, h.logs)
			}
		})
	}
}

func TestStreamSecretsStayOutOfLogs(t *testing.T) {
	srv := newFake(t)
	// An endpoint nobody listens on: the dial error quotes the URL, ticket included.
	const ticket = "tkt-must-not-leak-0001"
	srv.FailOpen(200, fmt.Sprintf(`{"endpoint":"ws://127.0.0.1:1/connect","ticket":%q}`, ticket), 1)
	h := startStream(t, srv, nil)
	h.waitConns(t, 1)
	srv.CloseClientConnections()
	h.waitConns(t, 2)
	h.push(t, dingtalktest.BotMessage{Text: "x"})
	h.stop(t)

	logs := h.logs.String()
	if !strings.Contains(logs, "dial stream") {
		t.Fatalf("the failed dial was not logged:\n%s", logs)
	}
	secrets := []string{srv.ClientSecret, ticket}
	for _, r := range srv.OpenRequests() {
		if r.Ticket != "" {
			secrets = append(secrets, r.Ticket)
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain secret %q:\n%s", s, logs)
		}
	}
}

func TestNewStreamValidates(t *testing.T) {
	ok := Config{ClientID: "id", ClientSecret: "s", Handler: func(*Frame) int { return AckOK }}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"no client id", func(c *Config) { c.ClientID = "" }, "client id"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "client secret"},
		{"no handler", func(c *Config) { c.Handler = nil }, "handler"},
		{"bad api base", func(c *Config) { c.APIBase = "api.dingtalk.com" }, "api base"},
		{"ftp api base", func(c *Config) { c.APIBase = "ftp://x" }, "api base"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			s, err := New(cfg)
			if tt.wantErr == "" {
				if err != nil || s.openURL != "https://api.dingtalk.com/v1.0/gateway/connections/open" {
					t.Fatalf("New = %v, openURL %q", err, s.openURL)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want an error about %s", err, tt.wantErr)
			}
		})
	}
}

func TestParseOpen(t *testing.T) {
	s := &Client{cfg: Config{ClientSecret: "s3cr3t-value"}}
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr error // nil: success
		want    string
	}{
		{"ok", 200, `{"endpoint":"wss://wss-open-connection.dingtalk.com:443/connect","ticket":"t"}`, nil, ""},
		{"200 not json", 200, `<xml/>`, picoclaw.ErrBadResponse, "HTTP 200"},
		{"200 http endpoint", 200, `{"endpoint":"https://x/connect","ticket":"t"}`, picoclaw.ErrBadResponse, "not a websocket URL"},
		{"401 fixture", 401, `{"requestid":"ED20","code":"authFailed","message":"鉴权失败"}`, picoclaw.ErrAuth, "(401 authFailed: 鉴权失败)"},
		{"InvalidAuthentication any status", 400, `{"code":"InvalidAuthentication","message":"m"}`, picoclaw.ErrAuth, "InvalidAuthentication"},
		{"400 systemError", 400, `{"requestid":"EB2A","code":"systemError","message":"系统错误"}`, picoclaw.ErrTemporary, "HTTP 400 systemError: 系统错误 (requestid EB2A)"},
		{"echoed secret masked", 500, `oops s3cr3t-value oops`, picoclaw.ErrTemporary, `"oops [redacted] oops"`},
		{"long body cut", 500, strings.Repeat("汉", 200), picoclaw.ErrTemporary, "…"},
		{"control chars", 500, "a\x00\x1b[31mb\n\tc", picoclaw.ErrTemporary, `"a [31mb c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep, err := s.parseOpen(tt.status, []byte(tt.body))
			if tt.wantErr == nil {
				if err != nil || ep.Ticket == "" {
					t.Fatalf("parseOpen = %+v, %v", ep, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("parseOpen error %v, want %v containing %q", err, tt.wantErr, tt.want)
			}
			if strings.Contains(err.Error(), "s3cr3t-value") || len(err.Error()) > 400 {
				t.Fatalf("error leaks the secret or is too long: %v", err)
			}
		})
	}
}

// Without a UserAgent the open still names the client, not an empty ua.
func TestStreamOpenDefaultUserAgent(t *testing.T) {
	srv := newFake(t)
	h := startStream(t, srv, nil)
	h.waitConns(t, 1)
	if ua := srv.OpenRequests()[0].UA; ua != DefaultUserAgent {
		t.Errorf("ua = %q, want %q", ua, DefaultUserAgent)
	}
}
