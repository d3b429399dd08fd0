package dingtalk

import (
	"strings"
	"testing"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
)

// The thinking reaction goes on the user's message as the turn starts and
// comes off once the answer is delivered, in single chats and groups.
func TestThinkingReactionLifecycle(t *testing.T) {
	for _, group := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "group"}[group], func(t *testing.T) {
			srv := newFake(t)
			lc := startChannel(t, srv, nil)
			p, err := srv.PushBotMessage(dingtalktest.BotMessage{Group: group, InAtList: group, Text: "hi"})
			if err != nil {
				t.Fatal(err)
			}
			in := <-lc.inbound
			lc.ch.StartThinking(in.MessageID)
			calls, err := srv.WaitEmotions(testCtx(t), 1)
			if err != nil {
				t.Fatalf("%v (logs:\n%s)", err, lc.logs)
			}
			c := calls[0]
			want := dingtalktest.EmotionCall{RobotCode: srv.ClientID, OpenMsgID: in.MessageID,
				OpenConversationID: p.ConversationID, EmotionType: 2, EmotionName: "🤔思考中",
				EmotionID: "2659900", Text: "🤔思考中", BackgroundID: "im_bg_1"}
			if c != want {
				t.Errorf("reaction call %+v\nwant %+v", c, want)
			}
			if got := srv.Reactions(in.MessageID); len(got) != 1 || got[0] != "🤔思考中" {
				t.Errorf("reactions on the message: %q, want the thinking one", got)
			}
			if err := lc.reply(t, in, "hello"); err != nil {
				t.Fatal(err)
			}
			calls, err = srv.WaitEmotions(testCtx(t), 2)
			if err != nil {
				t.Fatal(err)
			}
			if r := calls[1]; !r.Recall || r.OpenMsgID != in.MessageID || r.EmotionName != "🤔思考中" {
				t.Errorf("second call %+v, want the recall", r)
			}
			if got := srv.Reactions(in.MessageID); len(got) != 0 {
				t.Errorf("reactions left on the message: %q", got)
			}
			if srv.ReplyCount() != 1 {
				t.Errorf("%d replies, want the answer", srv.ReplyCount())
			}
		})
	}
}

// A reaction DingTalk refuses (no permission) never holds up or loses the
// answer, and is logged once at warn with the fix; nothing is recalled.
func TestThinkingReactionRefused(t *testing.T) {
	srv := newFake(t)
	srv.FailOpenAPI(dingtalktest.EmotionReplyPath, 403, string(readFixture(t, "../openapi/testdata/openapi-error-permission-denied.json")), 2)
	lc := startChannel(t, srv, nil)
	for i := range 2 {
		in := lc.push(t, dingtalktest.BotMessage{Text: "question"})
		lc.ch.StartThinking(in.MessageID)
		if err := lc.reply(t, in, "answer"); err != nil {
			t.Fatalf("answer %d not delivered: %v", i, err)
		}
		if err := srv.WaitFailedOpenAPICalls(testCtx(t), dingtalktest.EmotionReplyPath, i+1); err != nil {
			t.Fatal(err)
		}
	}
	// The refusal is logged by the reaction's own goroutine once its
	// answer arrives; Close would cancel one still reading it.
	if err := lc.logs.WaitFor(testCtx(t), "thinking reaction failed"); err != nil {
		t.Fatalf("no warning logged: %v\n%s", err, lc.logs.String())
	}
	lc.ch.Close() // waits for the reaction calls in flight
	if n := srv.ReplyCount(); n != 2 {
		t.Errorf("%d answers delivered, want 2", n)
	}
	if n := srv.OpenAPICount(dingtalktest.EmotionRecallPath); n != 0 {
		t.Errorf("%d recalls of a reaction never placed", n)
	}
	logs := lc.logs.String()
	if n := strings.Count(logs, "level=WARN msg=\"dingtalk: thinking reaction failed"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, "qyapi_robot_sendmsg") || !strings.Contains(logs, "thinking_reaction") {
		t.Errorf("the warning does not say how to fix it:\n%s", logs)
	}
}

// thinking_reaction false: no reaction calls at all.
func TestThinkingReactionOff(t *testing.T) {
	srv := newFake(t)
	off := false
	lc := startChannel(t, srv, func(c *ChannelConfig) { c.ThinkingReaction = &off })
	in := lc.push(t, dingtalktest.BotMessage{Text: "question"})
	lc.ch.StartThinking(in.MessageID)
	if err := lc.reply(t, in, "answer"); err != nil {
		t.Fatal(err)
	}
	lc.ch.Close()
	if n := len(srv.Emotions()) + srv.OpenAPICount(dingtalktest.EmotionReplyPath); n != 0 {
		t.Errorf("%d reaction calls with thinking_reaction off", n)
	}
}

// A message the channel never saw (a turn replayed after a restart) gets
// no reaction, and stopping one that was never started is harmless.
func TestThinkingReactionUnknownMessage(t *testing.T) {
	srv := newFake(t)
	lc := newLiveChannel(t, srv, nil)
	lc.ch.StartThinking("msgUNKNOWN")
	lc.ch.StopThinking("msgUNKNOWN")
	lc.ch.StopThinking("")
	if err := lc.ch.Send(testCtx(t), picoclaw.Outbound{Channel: ChannelName, Kind: picoclaw.OutReasoning, Text: "x"}); err != nil {
		t.Fatal(err)
	}
	lc.ch.Close()
	if n := srv.OpenAPICount(dingtalktest.EmotionReplyPath) + srv.OpenAPICount(dingtalktest.EmotionRecallPath); n != 0 {
		t.Errorf("%d reaction calls for an unknown message", n)
	}
}
