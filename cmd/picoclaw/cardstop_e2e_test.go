package main

import (
	"strings"
	"sync/atomic"
	"testing"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

// The stop button of a streaming card does what /stop does: a stranger's
// press is acked and ignored (the answer keeps streaming); the asker's
// press stops the turn, the card ends marked stopped, the stop is
// confirmed, and the chat's next message is answered.
func TestGatewayCardStopButton(t *testing.T) {
	pace := make(chan struct{})
	var calls atomic.Int32
	h := cardHarness(t, providertest.Reply{})
	h.llm.SetHandler(func(providertest.RecordedRequest) providertest.Reply {
		if calls.Add(1) == 1 {
			return providertest.Reply{Content: "A long answer that the user will stop halfway through.", ChunkSize: 8, Pace: pace}
		}
		return providertest.Reply{Content: "second answer", ChunkSize: 4}
	})
	h.start()
	h.push(dingtalktest.BotMessage{Text: "question"})
	ctx := waitCtx(t)
	cards, err := h.dt.WaitCardsCreated(ctx, 1)
	if err != nil {
		t.Fatalf("%v (logs:\n%s)", err, h.logs)
	}
	track := cards[0].OutTrackID
	if got := cards[0].Data["showStopButton"]; got != "true" {
		t.Errorf("card data showStopButton = %q, want \"true\"", got)
	}

	press := func(user string) {
		t.Helper()
		p, err := h.dt.PushCardCallback(dingtalktest.CardCallback{OutTrackID: track, UserID: user,
			SpaceType: "IM_ROBOT", ActionIDs: []string{"stop"}})
		if err != nil {
			t.Fatal(err)
		}
		ack, err := h.dt.WaitAck(ctx, p.MessageID)
		if err != nil || ack.Code != 200 {
			t.Fatalf("card callback ack %+v, %v", ack, err)
		}
	}

	press("0999999999999999") // not this chat's user
	select {
	case pace <- struct{}{}:
	case <-ctx.Done():
		t.Fatalf("the answer no longer streams after a stranger's press (logs:\n%s)", h.logs)
	}
	ups, err := h.dt.WaitCardUpdates(ctx, 1)
	if err != nil || ups[0].Finalize {
		t.Fatalf("answer stopped streaming after a stranger's press: %v (logs:\n%s)", err, h.logs)
	}
	if !strings.Contains(h.logs.String(), "stop refused") {
		t.Error("a stranger's press is not logged as refused")
	}

	press(dingtalktest.DefaultSenderStaffID)
	if err := h.dt.WaitCardFinalized(ctx, track); err != nil {
		t.Fatalf("%v (logs:\n%s)", err, h.logs)
	}
	if got, _ := h.dt.CardContent(track, "msgContent"); !strings.HasSuffix(got, "（已停止 / stopped）") {
		t.Errorf("stopped card shows %q, want it marked stopped", got)
	}
	if r := h.waitReplies(1); !strings.Contains(r[0].Text, "Stopped") {
		t.Errorf("stop confirmation %q", r[0].Text)
	}

	h.push(dingtalktest.BotMessage{Text: "next question"})
	cards, err = h.dt.WaitCardsCreated(ctx, 2)
	if err != nil {
		t.Fatalf("%v (logs:\n%s)", err, h.logs)
	}
	if err := h.dt.WaitCardFinalized(ctx, cards[1].OutTrackID); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.dt.CardContent(cards[1].OutTrackID, "msgContent"); got != "second answer" {
		t.Errorf("next answer's card shows %q", got)
	}
}
