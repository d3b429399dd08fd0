package openapi

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
	"picoclaw/internal/testutil"
)

// A 429 or 503 with Retry-After carries the wait to the caller; a long
// one is not waited out inside the call.
func TestOpenAPIRetryAfterReachesCaller(t *testing.T) {
	// In a bubble any wait inside the call would show as fake time passed.
	synctest.Test(t, func(t *testing.T) {
		busy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"code":"ServiceUnavailable","message":"busy","requestid":"r1"}`))
		})
		api, err := New(Config{ClientID: "id", ClientSecret: "secret", APIBase: "http://api.dingtalk.test",
			HTTPClient: &http.Client{Transport: testutil.HandlerTransport(busy)}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = api.Token(context.Background())
		var rl *picoclaw.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Minute || !errors.Is(err, picoclaw.ErrTemporary) {
			t.Fatalf("err = %v, want a temporary failure asking for 2 minutes", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Errorf("waited %v inside the call", waited)
		}
	})
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
