package dingtalk

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/internal/backoff"

	"picoclaw/internal/testutil"
)

// liveChannel is a Channel running against a fake DingTalk.
type liveChannel struct {
	ch      *Channel
	srv     *dingtalktest.Server
	clock   *testutil.Clock
	logs    *testutil.SyncBuffer
	inbound chan picoclaw.Inbound
}

// startChannel runs a Channel on srv until the test ends. Its clock starts
// at the real time (the fake stamps webhook expiry with it) and only moves
// when the test advances it.
func startChannel(t *testing.T, srv *dingtalktest.Server, mod func(*ChannelConfig)) *liveChannel {
	t.Helper()
	lc := newLiveChannel(t, srv, mod)
	connected := make(chan struct{}, 8)
	lc.ch.cfg.OnConnected = func() { connected <- struct{}{} }
	conns := srv.ConnectionCount()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- lc.ch.Run(ctx, func(in picoclaw.Inbound) { lc.inbound <- in })
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-connected:
	case <-testCtx(t).Done():
		t.Fatalf("channel never connected (logs:\n%s)", lc.logs)
	}
	// The client may be up before the fake has listed the socket.
	if err := srv.WaitConnections(testCtx(t), conns+1); err != nil {
		t.Fatal(err)
	}
	return lc
}

// newLiveChannel builds the channel without running it (Send needs no
// stream).
func newLiveChannel(t *testing.T, srv *dingtalktest.Server, mod func(*ChannelConfig)) *liveChannel {
	t.Helper()
	lc := &liveChannel{srv: srv, clock: testutil.NewClock(time.Now()), logs: &testutil.SyncBuffer{}, inbound: make(chan picoclaw.Inbound, 16)}
	cfg := ChannelConfig{
		ClientID:     srv.ClientID,
		ClientSecret: srv.ClientSecret,
		APIBase:      srv.URL(),
		Logger:       slog.New(slog.NewTextHandler(lc.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Backoff:      &backoff.Backoff{Min: time.Millisecond, Max: 20 * time.Millisecond},
	}
	if mod != nil {
		mod(&cfg)
	}
	ch, err := NewChannel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	ch.now = lc.clock.Now
	lc.ch = ch
	return lc
}

// push sends a bot message and returns what the channel handed on.
func (lc *liveChannel) push(t *testing.T, m dingtalktest.BotMessage) picoclaw.Inbound {
	t.Helper()
	if _, err := lc.srv.PushBotMessage(m); err != nil {
		t.Fatal(err)
	}
	select {
	case in := <-lc.inbound:
		return in
	case <-testCtx(t).Done():
		t.Fatalf("message never handled (logs:\n%s)", lc.logs)
		return picoclaw.Inbound{}
	}
}

// reply answers in.
func (lc *liveChannel) reply(t *testing.T, in picoclaw.Inbound, text string) error {
	t.Helper()
	return lc.ch.Send(testCtx(t), picoclaw.Outbound{Channel: ChannelName, Chat: in.Chat, Text: text, ReplyTo: in.MessageID, SenderID: in.SenderID})
}

// threeParts is an answer that split cuts into three parts.
func threeParts() (string, []string) {
	var parts []string
	for _, w := range []string{"第一", "第二", "第三"} {
		parts = append(parts, w+strings.Repeat("很长的回答。", maxReplyBytes/len("很长的回答。")*2/3))
	}
	return strings.Join(parts, "\n\n"), parts
}

func TestChannelExpiredWebhookRepliesByOpenAPI(t *testing.T) {
	tests := []struct {
		name  string
		msg   dingtalktest.BotMessage
		check func(t *testing.T, s dingtalktest.OpenAPISend)
	}{
		{"direct chat by staff id", dingtalktest.BotMessage{Text: "hi", SenderStaffID: "0987654321"},
			func(t *testing.T, s dingtalktest.OpenAPISend) {
				if s.Kind != "direct" || len(s.UserIDs) != 1 || s.UserIDs[0] != "0987654321" {
					t.Errorf("sent %+v", s)
				}
			}},
		{"group by conversation id", dingtalktest.BotMessage{Group: true, InAtList: true, Text: "hi", ConversationID: "cidAbC+dEf/Gh=="},
			func(t *testing.T, s dingtalktest.OpenAPISend) {
				if s.Kind != "group" || s.OpenConversationID != "cidAbC+dEf/Gh==" || strings.Contains(s.Text, "@") {
					t.Errorf("sent %+v", s)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			lc := startChannel(t, srv, nil)
			tt.msg.WebhookTTL = 4 * time.Minute // inside the default 5-minute margin
			in := lc.push(t, tt.msg)
			if err := lc.reply(t, in, "the answer"); err != nil {
				t.Fatal(err)
			}
			sends := srv.OpenAPISends()
			if len(sends) != 1 || len(srv.Replies()) != 0 {
				t.Fatalf("%d OpenAPI sends, %d webhook replies; want 1 and 0", len(sends), len(srv.Replies()))
			}
			if s := sends[0]; s.MsgKey != "sampleMarkdown" || s.Text != "the answer" || s.Title != "the answer" || s.RobotCode != srv.ClientID {
				t.Errorf("sent %+v", s)
			}
			tt.check(t, sends[0])
		})
	}
}

func TestChannelWebhook300001FallsBackInOrder(t *testing.T) {
	srv := newFake(t)
	lc := startChannel(t, srv, func(c *ChannelConfig) { c.StateDir = t.TempDir() })
	in := lc.push(t, dingtalktest.BotMessage{Group: true, InAtList: true, Text: "hi"})
	srv.FailWebhook(dingtalktest.ErrcodeSessionMissing, 1)
	text, parts := threeParts()
	if err := lc.reply(t, in, text); err != nil {
		t.Fatal(err)
	}
	sends := srv.OpenAPISends()
	if len(sends) != 3 || len(srv.Replies()) != 0 {
		t.Fatalf("%d OpenAPI sends, %d webhook replies; want 3 and 0", len(sends), len(srv.Replies()))
	}
	for i, s := range sends {
		if s.Kind != "group" || s.OpenConversationID != in.Chat.ID || !strings.HasPrefix(strings.TrimSpace(s.Text), parts[i][:6]) {
			t.Errorf("send %d: %s %q… to %s", i, s.Kind, s.Text[:min(12, len(s.Text))], s.OpenConversationID)
		}
	}
	// The webhook is forgotten, also on disk: the next answer goes by
	// OpenAPI without trying it.
	if err := lc.ch.Send(testCtx(t), picoclaw.Outbound{Chat: in.Chat, Text: "later"}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.OpenAPISends()); n != 4 || len(srv.Replies()) != 0 {
		t.Errorf("%d OpenAPI sends, %d replies; want 4 and 0", n, len(srv.Replies()))
	}
	raw, err := os.ReadFile(filepath.Join(lc.ch.cfg.StateDir, routesFile))
	if err != nil || strings.Contains(string(raw), "sendBySession") || !strings.Contains(string(raw), in.Chat.ID) {
		t.Errorf("routes file %s (%v): want the chat kept, its webhook dropped", raw, err)
	}
}

func TestChannelReasoningToUnseenChats(t *testing.T) {
	tests := []struct {
		target, kind, id string
	}{
		{"cidNEWxGROUPxNEVERxSEEN==", "group", "cidNEWxGROUPxNEVERxSEEN=="},
		{"abc+def/ghi=", "group", "abc+def/ghi="},
		{"0987654321", "direct", "0987654321"},
		{"dingtalk:group:ProbablyAGroup", "group", "ProbablyAGroup"},
		{"dingtalk:direct:manager7", "direct", "manager7"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			srv := newFake(t)
			lc := newLiveChannel(t, srv, func(c *ChannelConfig) { c.ReasoningChannelID = tt.target })
			err := lc.ch.Send(testCtx(t), picoclaw.Outbound{Kind: picoclaw.OutReasoning, Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "x"}, Text: "hmm"})
			if err != nil {
				t.Fatal(err)
			}
			sends := srv.OpenAPISends()
			if len(sends) != 1 {
				t.Fatalf("%d sends", len(sends))
			}
			s := sends[0]
			got := s.OpenConversationID
			if s.Kind == "direct" && len(s.UserIDs) == 1 {
				got = s.UserIDs[0]
			}
			if s.Kind != tt.kind || got != tt.id || s.Text != ReasoningHeader+"\n\nhmm" {
				t.Errorf("sent %+v", s)
			}
		})
	}
}

func TestChannelReasoningBareIDPrefersKnownChat(t *testing.T) {
	srv := newFake(t)
	// A staff id that is also a group id would be odd; a known direct
	// chat whose id looks like a conversation id shows the order: known
	// chats win over the id's shape.
	lc := startChannel(t, srv, func(c *ChannelConfig) { c.ReasoningChannelID = "0123456789012345" })
	in := lc.push(t, dingtalktest.BotMessage{Text: "hi"})
	if err := lc.ch.Send(testCtx(t), picoclaw.Outbound{Kind: picoclaw.OutReasoning, Chat: in.Chat, Text: "hmm"}); err != nil {
		t.Fatal(err)
	}
	if r := srv.Replies(); len(r) != 1 || len(srv.OpenAPISends()) != 0 {
		t.Fatalf("%d replies, %d OpenAPI sends: the known chat's webhook should be used", len(r), len(srv.OpenAPISends()))
	}
}

func TestChannelCronSendAfterWebhookExpired(t *testing.T) {
	srv := newFake(t)
	lc := startChannel(t, srv, nil)
	in := lc.push(t, dingtalktest.BotMessage{Text: "remind me", WebhookTTL: 10 * time.Minute})
	cron := picoclaw.Outbound{Channel: ChannelName, Chat: in.Chat, Text: "reminder"}
	if err := lc.ch.Send(testCtx(t), cron); err != nil {
		t.Fatal(err)
	}
	if len(srv.Replies()) != 1 || len(srv.OpenAPISends()) != 0 {
		t.Fatalf("fresh webhook: %d replies, %d sends", len(srv.Replies()), len(srv.OpenAPISends()))
	}
	lc.clock.Advance(6 * time.Minute) // within the margin of expiry
	if err := lc.ch.Send(testCtx(t), cron); err != nil {
		t.Fatal(err)
	}
	sends := srv.OpenAPISends()
	if len(srv.Replies()) != 1 || len(sends) != 1 || sends[0].Kind != "direct" || sends[0].UserIDs[0] != in.Chat.ID {
		t.Fatalf("stale webhook: %d replies, sends %+v", len(srv.Replies()), sends)
	}
	t.Run("never-seen chat", func(t *testing.T) {
		out := picoclaw.Outbound{Chat: picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidCRONxGROUP=="}, Text: "daily"}
		if err := lc.ch.Send(testCtx(t), out); err != nil {
			t.Fatal(err)
		}
		if s := srv.OpenAPISends(); len(s) != 2 || s[1].OpenConversationID != "cidCRONxGROUP==" {
			t.Errorf("sends %+v", s)
		}
	})
}

func TestChannelExternalUserWithoutWebhook(t *testing.T) {
	srv := newFake(t)
	lc := startChannel(t, srv, nil)
	in := lc.push(t, dingtalktest.BotMessage{Text: "hi", External: true, WebhookTTL: time.Minute})
	err := lc.reply(t, in, "answer")
	if !errors.Is(err, errNoRoute) || !strings.Contains(err.Error(), "staff id") {
		t.Fatalf("err = %v, want errNoRoute explaining the missing staff id", err)
	}
	if len(srv.OpenAPIRequests()) != 0 || len(srv.Replies()) != 0 {
		t.Errorf("something was sent")
	}
}
