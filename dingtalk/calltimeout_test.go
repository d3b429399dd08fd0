package dingtalk

import (
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
