package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"picoclaw"
)

func TestChannelForeignWebhookIsNotStored(t *testing.T) {
	h := newChannelHarness(t, nil)
	h.deliver(t, h.message(t, "bot-text-private.json", "s1", func(m map[string]any) {
		m["sessionWebhook"] = "https://evil.example/robot/sendBySession?session=LEAK"
		delete(m, "senderStaffId") // an external user: OpenAPI cannot reach them either
	}))
	if len(h.inbound) != 1 {
		t.Fatalf("%d handled, want 1 (the message is still handled)", len(h.inbound))
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "evil.example") || strings.Contains(logs, "LEAK") {
		t.Errorf("want a warning naming the host only:\n%s", logs)
	}
	err := h.ch.Send(context.Background(), picoclaw.Outbound{Chat: h.inbound[0].Chat, Text: "answer", ReplyTo: h.inbound[0].MessageID})
	if !errors.Is(err, errNoRoute) {
		t.Errorf("Send = %v, want ErrNoRoute", err)
	}
	if h.srv.requests() != 0 {
		t.Errorf("posted %d times", h.srv.requests())
	}
}

func TestChannelSendRouting(t *testing.T) {
	noAt := false
	h := newChannelHarness(t, func(c *ChannelConfig) { c.ReplyAtSender = &noAt })
	group := func(msgID string) func(map[string]any) {
		return func(m map[string]any) { m["msgId"] = msgID }
	}
	h.deliver(t, h.message(t, "bot-text-group-at-logged.json", "first", group("g1")))
	h.deliver(t, h.message(t, "bot-text-group-at-logged.json", "second", group("g2")))
	h.deliver(t, h.message(t, "bot-text-private.json", "direct", nil))
	groupChat := picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidGROUPxCONVERSATIONxID0=="}
	tests := []struct {
		name    string
		out     picoclaw.Outbound
		session string
	}{
		{"reply to the first message uses its webhook", picoclaw.Outbound{Chat: groupChat, ReplyTo: "g1", Text: "a1"}, "first"},
		{"reply to the second", picoclaw.Outbound{Chat: groupChat, ReplyTo: "g2", Text: "a2"}, "second"},
		{"no ReplyTo: the chat's latest webhook", picoclaw.Outbound{Chat: groupChat, Text: "a3"}, "second"},
		{"unknown ReplyTo falls back to the chat", picoclaw.Outbound{Chat: groupChat, ReplyTo: "nope", Text: "a4"}, "second"},
		{"direct chat", picoclaw.Outbound{Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "042***297"}, Text: "a5"}, "direct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.srv.requests()
			if err := h.ch.Send(context.Background(), tt.out); err != nil {
				t.Fatal(err)
			}
			if h.srv.requests() != before+1 {
				t.Fatalf("%d posts, want 1", h.srv.requests()-before)
			}
			if q := h.srv.queries[before]; q != "session="+tt.session {
				t.Errorf("posted to %q, want session=%s", q, tt.session)
			}
			if !strings.Contains(string(h.srv.bodies[before]), `"text":"`+tt.out.Text+`"`) {
				t.Errorf("body = %s", h.srv.bodies[before])
			}
		})
	}
	// Unknown chats and expired webhooks go by OpenAPI: see
	// channel_openapi_test.go.
}

func TestChannelSendSplitsLongAnswers(t *testing.T) {
	h := newChannelHarness(t, nil)
	h.deliver(t, h.message(t, "bot-text-private.json", "s1", nil))
	var b strings.Builder
	for i := range 1500 {
		b.WriteString("第")
		b.WriteString(strings.Repeat("很长的回答", i%7+1))
		b.WriteString("段。\n\n")
	}
	answer := b.String() // ~38,000 characters, ~106 KB
	err := h.ch.Send(context.Background(), picoclaw.Outbound{Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "042***297"}, Text: answer})
	if err != nil {
		t.Fatal(err)
	}
	n := h.srv.requests()
	if n < len(answer)/maxReplyBytes+1 {
		t.Fatalf("%d posts for %d bytes", n, len(answer))
	}
	var joined strings.Builder
	for i, body := range h.srv.bodies {
		if len(body) > 20000 {
			t.Errorf("post %d has %d bytes, over DingTalk's 20,000", i, len(body))
		}
		var msg struct{ Markdown struct{ Title, Text string } }
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Fatal(err)
		}
		if msg.Markdown.Title != picoclaw.Title(msg.Markdown.Text, 20) || msg.Markdown.Title == "" {
			t.Errorf("post %d title %q is not its first words", i, msg.Markdown.Title)
		}
		joined.WriteString(msg.Markdown.Text)
	}
	if dropSpace(joined.String()) != dropSpace(answer) {
		t.Errorf("the posts do not add up to the answer in order")
	}
}

func TestChannelSendForgetsExpiredSession(t *testing.T) {
	h := newChannelHarness(t, nil)
	h.srv.mu.Lock()
	h.srv.answers = []func(w http.ResponseWriter){fixtureAnswer(t, "webhook-err-300001-session-not-exist.json")}
	h.srv.mu.Unlock()
	// An external user, so that OpenAPI cannot stand in for the webhook.
	h.deliver(t, h.message(t, "bot-text-private.json", "s1", func(m map[string]any) { delete(m, "senderStaffId") }))
	out := picoclaw.Outbound{Chat: h.inbound[0].Chat, ReplyTo: h.inbound[0].MessageID, Text: "x"}
	if err := h.ch.Send(context.Background(), out); !errors.Is(err, errSessionExpired) {
		t.Fatalf("err = %v, want ErrSessionExpired", err)
	}
	if err := h.ch.Send(context.Background(), out); !errors.Is(err, errNoRoute) {
		t.Errorf("second send: err = %v, want ErrNoRoute", err)
	}
	if h.srv.requests() != 1 {
		t.Errorf("%d posts, want 1", h.srv.requests())
	}
}

func TestChannelSendReasoning(t *testing.T) {
	const cid = "cidGROUPxCONVERSATIONxID0=="
	tests := []struct {
		name    string
		target  string
		session string // "" means nothing is posted
		err     error
	}{
		{"disabled", "", "", nil},
		{"group by session key", "dingtalk:group:" + cid, "group", nil},
		{"direct by session key", "dingtalk:direct:042***297", "direct", nil},
		{"bare group id", cid, "group", nil},
		{"bare direct id", "042***297", "direct", nil},
		{"empty id", "dingtalk:group:", "", errNoRoute},
		{"unknown kind in session key", "dingtalk:channel:" + cid, "", errNoRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newChannelHarness(t, func(c *ChannelConfig) { c.ReasoningChannelID = tt.target })
			h.deliver(t, h.message(t, "bot-text-group-at-logged.json", "group", nil))
			h.deliver(t, h.message(t, "bot-text-private.json", "direct", nil))
			out := picoclaw.Outbound{Kind: picoclaw.OutReasoning, Chat: h.inbound[0].Chat, Text: "thinking about it"}
			err := h.ch.Send(context.Background(), out)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.session == "" {
				if h.srv.requests() != 0 {
					t.Errorf("posted %d times", h.srv.requests())
				}
				return
			}
			if h.srv.requests() != 1 || h.srv.queries[0] != "session="+tt.session {
				t.Fatalf("posts %v, want one to session=%s", h.srv.queries, tt.session)
			}
			var msg struct{ Markdown struct{ Title, Text string } }
			if err := json.Unmarshal(h.srv.bodies[0], &msg); err != nil {
				t.Fatal(err)
			}
			if msg.Markdown.Text != ReasoningHeader+"\n\nthinking about it" {
				t.Errorf("text = %q", msg.Markdown.Text)
			}
		})
	}
}

func TestChannelRunWarnsAboutOpenAccess(t *testing.T) {
	for _, allow := range [][]string{nil, {"0123"}} {
		h := newChannelHarness(t, func(c *ChannelConfig) { c.AllowFrom = allow })
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // Run returns at once; the warning comes first
		_ = h.ch.Run(ctx, func(picoclaw.Inbound) {})
		warned := strings.Contains(h.logs.String(), "allow_from is empty")
		if warned != (len(allow) == 0) {
			t.Errorf("allow_from %v: warned %v", allow, warned)
		}
	}
}

// Close releases the channel's rate limiter: a send after it fails at
// once instead of queueing forever.
func TestChannelCloseStopsSends(t *testing.T) {
	h := newChannelHarness(t, nil)
	h.deliver(t, h.message(t, "bot-text-private.json", "direct", nil))
	if err := h.ch.Close(); err != nil {
		t.Fatal(err)
	}
	before := h.srv.requests()
	err := h.ch.Send(context.Background(), picoclaw.Outbound{Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "042***297"}, Text: "late"})
	if !errors.Is(err, errChatLimiterClosed) {
		t.Errorf("Send after Close = %v, want ErrChatLimiterClosed", err)
	}
	if n := h.srv.requests() - before; n != 0 {
		t.Errorf("%d requests sent after Close, want 0", n)
	}
}
