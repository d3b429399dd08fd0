package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
)

// The user's message wears "🤔思考中" while the model works, and loses it
// once the answer is delivered.
func TestGatewayThinkingReaction(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	release := make(chan struct{})
	h.llm.SetHandler(llmHandler(release))
	h.start()
	p := h.push(dingtalktest.BotMessage{Text: "slow question"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	calls, err := h.dt.WaitEmotions(ctx, 1)
	if err != nil {
		t.Fatalf("%v (logs:\n%s)", err, h.logs)
	}
	if c := calls[0]; c.Recall || c.OpenMsgID != p.MsgID || c.OpenConversationID != p.ConversationID {
		t.Errorf("first reaction call %+v, want it put on %s", c, p.MsgID)
	}
	if n := h.dt.ReplyCount(); n != 0 {
		t.Errorf("%d replies while the model is still working", n)
	}
	close(release)
	h.waitReplies(1)
	if _, err := h.dt.WaitEmotions(ctx, 2); err != nil {
		t.Fatalf("reaction never taken off: %v", err)
	}
	if got := h.dt.Reactions(p.MsgID); len(got) != 0 {
		t.Errorf("reactions left on the answered message: %q", got)
	}
}

// channels.dingtalk.thinking_reaction false: no reaction calls.
func TestGatewayThinkingReactionOff(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	editConfig(t, h, func(_, dt map[string]any) { dt["thinking_reaction"] = false })
	h.llm.SetHandler(llmHandler(released()))
	h.start()
	h.push(dingtalktest.BotMessage{Text: "question"})
	h.waitReplies(1)
	h.stop()
	if n := h.dt.OpenAPICount(dingtalktest.EmotionReplyPath); n != 0 {
		t.Errorf("%d reaction calls with thinking_reaction false", n)
	}
}

// A quoted message reaches the model as context before the user's words.
func TestGatewayQuotedMessage(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.SetHandler(llmHandler(released()))
	h.start()
	h.push(dingtalktest.BotMessage{Text: "why?", Quote: &dingtalktest.QuotedMessage{FromBot: true, Text: "the build failed"}})
	got := h.waitReplies(1)[0]
	if want := "echo: > Replying to your earlier message: the build failed"; !strings.HasPrefix(got.Text, want) || !strings.HasSuffix(got.Text, "why?") {
		t.Errorf("answer %q, want the model to have seen the quote", got.Text)
	}
}
