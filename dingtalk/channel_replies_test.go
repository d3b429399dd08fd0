package dingtalk

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The "not supported" answer the channel gives itself runs in the
// background (the frame is acked at once); Close cancels it if it is still
// sending and returns only once it has stopped, and no reply starts after.
func TestChannelCloseCancelsAndWaitsForOwnReplies(t *testing.T) {
	arrived := make(chan struct{}, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then a closed connection cancels r's context
		arrived <- struct{}{}
		<-r.Context().Done() // a webhook that never answers
	}))
	t.Cleanup(srv.Close)
	h := newChannelHarness(t, func(c *ChannelConfig) { c.APIBase, c.HTTPClient = srv.URL, srv.Client() })
	msg := func(id string) map[string]any {
		m := h.message(t, "bot-unknownMsgType.json", "s1", nil)
		m["msgId"] = id
		m["sessionWebhook"] = srv.URL + "/robot/sendBySession?session=s1"
		return m
	}
	h.deliver(t, msg("m1"))
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the unsupported-type reply was never sent")
	}
	closed := make(chan struct{})
	go func() { h.ch.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not cancel the hanging reply")
	}
	if logs := h.logs.String(); !strings.Contains(logs, "reply not delivered") {
		t.Errorf("the cancelled reply was not logged:\n%s", logs)
	}
	h.deliver(t, msg("m2"))
	if logs := h.logs.String(); !strings.Contains(logs, "closing: reply not sent") {
		t.Errorf("a reply after Close was not refused:\n%s", logs)
	}
	if len(arrived) != 0 {
		t.Errorf("a reply was sent after Close")
	}
}
