package dingtalk

import (
	"testing"

	"picoclaw"
	"picoclaw/dingtalk/stream"
)

// A bot of a multi-bot gateway names its messages and their session keys
// with its own channel name, and answers them as itself.
func TestChannelNamedBot(t *testing.T) {
	h := newChannelHarness(t, func(c *ChannelConfig) { c.Name = "dingtalk-work" })
	if h.ch.Name() != "dingtalk-work" || !h.ch.LastMessage().IsZero() {
		t.Fatalf("Name %q, LastMessage %v before any message", h.ch.Name(), h.ch.LastMessage())
	}
	if code := h.deliver(t, h.message(t, "bot-text-private.json", "s1", nil)); code != stream.AckOK {
		t.Fatalf("ack %d", code)
	}
	if len(h.inbound) != 1 {
		t.Fatalf("%d messages handled, want 1", len(h.inbound))
	}
	in := h.inbound[0]
	if in.Channel != "dingtalk-work" || in.SessionKey() != "dingtalk-work:direct:042***297" {
		t.Errorf("inbound channel %q, session %q", in.Channel, in.SessionKey())
	}
	if !h.ch.LastMessage().Equal(testNow) {
		t.Errorf("LastMessage = %v, want %v", h.ch.LastMessage(), testNow)
	}
	out := picoclaw.Outbound{Channel: "dingtalk-work", Chat: in.Chat, ReplyTo: in.MessageID, Text: "hi"}
	if err := h.ch.Send(testCtx(t), out); err != nil {
		t.Fatalf("send: %v", err)
	}
	if got := h.srv.requests(); got != 1 {
		t.Errorf("webhook posts = %d, want 1", got)
	}
}

// The reasoning chat may be written with the bot's own channel name or
// with "dingtalk:".
func TestChannelNamedBotReasoningTarget(t *testing.T) {
	for _, target := range []string{"dingtalk-work:group:cidR==", "dingtalk:group:cidR=="} {
		h := newChannelHarness(t, func(c *ChannelConfig) { c.Name = "dingtalk-work" })
		chat, err := h.ch.resolveChat(target)
		if err != nil || chat != (picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidR=="}) {
			t.Errorf("resolveChat(%q) = %+v, %v", target, chat, err)
		}
	}
}
