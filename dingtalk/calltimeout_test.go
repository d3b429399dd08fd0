package dingtalk

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
)

// lateServer answers nothing until the test ends: an endpoint that hangs.
func lateServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); ts.Close() })
	return ts, &calls
}

// The media client allows minutes; the open call gives up after its own
// timeout and reports a temporary failure, so the stream reconnects.
func TestStreamOpenHasItsOwnTimeout(t *testing.T) {
	ts, calls := lateServer(t)
	s, err := NewStream(StreamConfig{
		ClientID: "id", ClientSecret: "secret", APIBase: ts.URL, Handler: func(*Frame) int { return AckOK },
		HTTPClient:  &http.Client{Timeout: 2 * time.Minute},
		OpenTimeout: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.open(streamCtx(t))
	if !errors.Is(err, picoclaw.ErrTemporary) || streamCtx(t).Err() != nil {
		t.Fatalf("open against a hanging endpoint: err = %v, want a temporary failure from the open timeout", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d open calls, want 1", calls.Load())
	}
	if s.cfg.HTTPClient.Timeout != 2*time.Minute {
		t.Errorf("the shared client's timeout was changed to %v", s.cfg.HTTPClient.Timeout)
	}
}

func TestStreamOpenTimeoutDefault(t *testing.T) {
	s, err := NewStream(StreamConfig{ClientID: "id", ClientSecret: "secret", Handler: func(*Frame) int { return AckOK },
		HTTPClient: &http.Client{Timeout: 2 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if s.openHC.Timeout != DefaultCallTimeout || DefaultCallTimeout != 15*time.Second {
		t.Errorf("open timeout %v, want 15 s", s.openHC.Timeout)
	}
}

// The token call has the same short timeout, inside a channel whose HTTP
// client is the 2-minute media one: a send fails over to "try later"
// instead of hanging for minutes.
func TestTokenCallHasItsOwnTimeout(t *testing.T) {
	ts, calls := lateServer(t)
	lc := newLiveChannel(t, dingtalktest.NewServer(), func(c *ChannelConfig) {
		c.APIBase = ts.URL
		c.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
		c.CallTimeout = 50 * time.Millisecond
	})
	t.Cleanup(lc.srv.Close)
	ctx := streamCtx(t)
	err := lc.ch.Send(ctx, picoclaw.Outbound{Channel: ChannelName, Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}, Text: "hi"})
	if !errors.Is(err, picoclaw.ErrTemporary) || ctx.Err() != nil {
		t.Fatalf("send while the token endpoint hangs: err = %v, want a temporary failure", err)
	}
	if n := calls.Load(); n != 1+openAPITempRetries {
		t.Errorf("%d token calls, want %d (one and its retries)", n, 1+openAPITempRetries)
	}
	if lc.ch.openapi.hc.Timeout != 2*time.Minute {
		t.Errorf("media client timeout %v, want the configured 2 minutes", lc.ch.openapi.hc.Timeout)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 0 ", 0},
		{"-3", 0},
		{"999999999999", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.value != "" {
			h.Set("Retry-After", tt.value)
		}
		if got := retryAfter(h, now); got != tt.want {
			t.Errorf("Retry-After %q = %v, want %v", tt.value, got, tt.want)
		}
	}
}

// A 429 or 503 with Retry-After carries the wait to the caller; a long
// one is not waited out inside the call.
func TestOpenAPIRetryAfterReachesCaller(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"code":"ServiceUnavailable","message":"busy","requestid":"r1"}`))
	}))
	t.Cleanup(ts.Close)
	var slept []time.Duration
	api, err := NewOpenAPI(OpenAPIConfig{ClientID: "id", ClientSecret: "secret", APIBase: ts.URL,
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = api.Token(context.Background())
	var rl *picoclaw.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Minute || !errors.Is(err, picoclaw.ErrTemporary) {
		t.Fatalf("err = %v, want a temporary failure asking for 2 minutes", err)
	}
	if len(slept) != 0 {
		t.Errorf("waited %v inside the call", slept)
	}
}
