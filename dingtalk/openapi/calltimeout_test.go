package openapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"picoclaw"
)

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
	api, err := New(Config{ClientID: "id", ClientSecret: "secret", APIBase: ts.URL,
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

// The short calls get their own timeout; the media client keeps the
// caller's, which must allow minutes for a 20 MB file.
func TestCallTimeoutLeavesMediaClientAlone(t *testing.T) {
	hc := &http.Client{Timeout: 2 * time.Minute}
	a, err := New(Config{ClientID: "id", ClientSecret: "secret", HTTPClient: hc, CallTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if a.hc.Timeout != 2*time.Minute || a.callHC.Timeout != 50*time.Millisecond || hc.Timeout != 2*time.Minute {
		t.Errorf("media %v, calls %v, caller's client %v; want 2m, 50ms, 2m untouched", a.hc.Timeout, a.callHC.Timeout, hc.Timeout)
	}
}
