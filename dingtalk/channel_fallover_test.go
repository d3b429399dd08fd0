package dingtalk

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
)

// A session webhook that fails in any way OpenAPI may get around is tried
// once: that answer goes by OpenAPI at once and arrives exactly once.
func TestChannelWebhookFailureFallsOverAtOnce(t *testing.T) {
	tests := []struct {
		name  string
		fault func(*dingtalktest.Server)
	}{
		{"HTTP 500", func(s *dingtalktest.Server) { s.FailWebhookHTTP(dingtalktest.WebhookHTTP500, 1) }},
		{"timeout", func(s *dingtalktest.Server) { s.FailWebhookHTTP(dingtalktest.WebhookHang, 1) }},
		{"HTTP 302", func(s *dingtalktest.Server) { s.FailWebhookHTTP(dingtalktest.WebhookRedirect, 1) }},
		{"non-JSON", func(s *dingtalktest.Server) { s.FailWebhookHTTP(dingtalktest.WebhookNotJSON, 1) }},
		{"errcode 300001", func(s *dingtalktest.Server) { s.FailWebhook(dingtalktest.ErrcodeSessionMissing, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			lc := startChannel(t, srv, func(c *ChannelConfig) { c.CallTimeout = 200 * time.Millisecond })
			in := lc.push(t, dingtalktest.BotMessage{SenderStaffID: "0123", Text: "hi"})
			tt.fault(srv)
			if err := lc.reply(t, in, "the answer"); err != nil {
				t.Fatalf("reply: %v", err)
			}
			if n := srv.DeliveredCount("the answer"); n != 1 {
				t.Errorf("answer delivered %d times, want exactly once", n)
			}
			sends := srv.OpenAPISends()
			if len(sends) != 1 || sends[0].Kind != "direct" || !slices.Equal(sends[0].UserIDs, []string{"0123"}) {
				t.Errorf("OpenAPI sends %+v, want the answer to the asker", sends)
			}
			if calls := srv.WebhookCalls(); len(calls) != 1 {
				t.Errorf("%d webhook posts, want 1 (no retry of a failing webhook)", len(calls))
			}
		})
	}
}

// A user outside the organisation has no staff id: OpenAPI cannot reach
// them, so a webhook 5xx is returned as temporary (the outbox retries it)
// and the webhook is kept.
func TestChannelWebhookFailureWithoutOpenAPIRoute(t *testing.T) {
	srv := newFake(t)
	lc := startChannel(t, srv, nil)
	in := lc.push(t, dingtalktest.BotMessage{External: true, Text: "hi"})
	if in.Chat.ID == "" || isStaffID(in.Chat.ID) {
		t.Fatalf("chat %q: want an external user without staff id", in.Chat.ID)
	}
	srv.FailWebhookHTTP(dingtalktest.WebhookHTTP500, 1)
	err := lc.reply(t, in, "the answer")
	if !errors.Is(err, picoclaw.ErrTemporary) {
		t.Fatalf("err = %v, want a temporary failure", err)
	}
	if err := lc.reply(t, in, "the answer"); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := srv.DeliveredCount("the answer"); n != 1 || len(srv.Replies()) != 1 {
		t.Errorf("delivered %d times (%d by webhook), want once by the kept webhook", n, len(srv.Replies()))
	}
}

// SendParts skips parts already accepted and reports each new one.
func TestChannelSendPartsResumes(t *testing.T) {
	srv := newFake(t)
	lc := startChannel(t, srv, nil)
	in := lc.push(t, dingtalktest.BotMessage{Group: true, InAtList: true, Text: "hi"})
	text, parts := threeParts()
	var accepted []int
	var last []bool
	out := picoclaw.Outbound{Channel: ChannelName, Chat: in.Chat, Text: text, ReplyTo: in.MessageID}
	if err := lc.ch.SendParts(testCtx(t), out, 1, func(i int, l bool) { accepted, last = append(accepted, i), append(last, l) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(accepted, []int{1, 2}) || !slices.Equal(last, []bool{false, true}) {
		t.Errorf("accepted %v (last %v), want [1 2] with only 2 the last", accepted, last)
	}
	reps := srv.Replies()
	if len(reps) != 2 || !strings.HasPrefix(strings.TrimSpace(reps[0].Text), parts[1][:6]) {
		t.Errorf("%d replies, want parts 2 and 3 only", len(reps))
	}
	if err := lc.ch.SendParts(testCtx(t), out, 3, nil); err != nil || len(srv.Replies()) != 2 {
		t.Errorf("resuming after the last part: err %v, %d replies; want nothing sent", err, len(srv.Replies()))
	}
}
