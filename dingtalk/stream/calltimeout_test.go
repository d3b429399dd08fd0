package stream

import (
	"errors"
	"net/http"
	"picoclaw/internal/testutil"
	"testing"
	"time"

	"picoclaw"
)

// The media client allows minutes; the open call gives up after its own
// timeout and reports a temporary failure, so the stream reconnects.
func TestStreamOpenHasItsOwnTimeout(t *testing.T) {
	ts, calls := testutil.HangingServer(t)
	s, err := New(Config{
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
	s, err := New(Config{ClientID: "id", ClientSecret: "secret", Handler: func(*Frame) int { return AckOK },
		HTTPClient: &http.Client{Timeout: 2 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if s.openHC.Timeout != DefaultOpenTimeout || DefaultOpenTimeout != 15*time.Second {
		t.Errorf("open timeout %v, want 15 s", s.openHC.Timeout)
	}
}
