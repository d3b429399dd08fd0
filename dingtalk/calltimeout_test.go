package dingtalk

import (
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/internal/testutil"
)

// The token call has the same short timeout, inside a channel whose HTTP
// client is the 2-minute media one: a send fails over to "try later"
// instead of hanging for minutes.
func TestTokenCallHasItsOwnTimeout(t *testing.T) {
	ts, _ := testutil.HangingServer(t)
	// Attempts are counted as the client makes them: on a loaded machine
	// a 50 ms call may time out before the server's handler even runs.
	var calls atomic.Int32
	counting := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})
	lc := newLiveChannel(t, dingtalktest.NewServer(), func(c *ChannelConfig) {
		c.APIBase = ts.URL
		c.HTTPClient = &http.Client{Timeout: 2 * time.Minute, Transport: counting}
		c.CallTimeout = 50 * time.Millisecond
		c.CallRetryMin, c.CallRetryMax = time.Millisecond, 5*time.Millisecond // the retries, not their waits, are under test
	})
	t.Cleanup(lc.srv.Close)
	ctx := testCtx(t)
	err := lc.ch.Send(ctx, picoclaw.Outbound{Channel: ChannelName, Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}, Text: "hi"})
	if !errors.Is(err, picoclaw.ErrTemporary) || ctx.Err() != nil {
		t.Fatalf("send while the token endpoint hangs: err = %v, want a temporary failure", err)
	}
	// openapi retries a temporary failure three times inside the call.
	if n := calls.Load(); n != 4 {
		t.Errorf("%d token calls, want 4 (one and its retries)", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
