package dingtalktest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/coder/websocket"
)

func TestWaitRepliesFrom(t *testing.T) {
	s := newServer(t)
	dialRaw(t, s)
	p, err := s.PushBotMessage(BotMessage{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	send := func(text string) {
		t.Helper()
		b, _ := json.Marshal(map[string]any{"msgtype": "text", "text": map[string]string{"content": text}})
		if r := postRaw(t, s.URL()+WebhookPath+"?session="+p.Session, "application/json", b); r.status != 200 {
			t.Fatalf("HTTP %d", r.status)
		}
	}
	send("one")
	send("two")
	got, err := s.WaitRepliesFrom(testCtx(t), 1)
	if err != nil || len(got) != 1 || got[0].Text != "two" || s.ReplyCount() != 2 {
		t.Fatalf("WaitRepliesFrom(1) = %+v, %v; count %d", got, err, s.ReplyCount())
	}

	waited := make(chan []Reply, 1)
	go func() {
		reps, err := s.WaitRepliesFrom(testCtx(t), 2)
		if err != nil {
			t.Error(err)
		}
		waited <- reps
	}()
	send("three")
	if reps := <-waited; len(reps) != 1 || reps[0].Text != "three" {
		t.Errorf("waiter got %+v, want only the third reply", reps)
	}

	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	if _, err := s.WaitRepliesFrom(ctx, 3); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

func TestWaitAckWakesEachWaiter(t *testing.T) {
	s := newServer(t)
	ws := dialRaw(t, s)
	var ids []string
	for range 3 {
		p, err := s.PushBotMessage(BotMessage{Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.MessageID)
	}
	// Two waiters on one id, one on another; an id never acked times out.
	got := make(chan RecordedAck, 3)
	for _, id := range []string{ids[1], ids[1], ids[2]} {
		go func() {
			a, err := s.WaitAck(testCtx(t), id)
			if err != nil {
				t.Error(err)
			}
			got <- a
		}()
	}
	for range 3 {
		readJSON(t, ws)
	}
	for i, id := range ids {
		ack := `{"code":200,"headers":{"messageId":"` + id + `","contentType":"application/json"},"message":"OK","data":"{\"response\":null}"}`
		if err := ws.Write(testCtx(t), websocket.MessageText, []byte(ack)); err != nil {
			t.Fatal(err)
		}
		if i == 1 { // a second ack of the same frame does not replace the first
			if err := ws.Write(testCtx(t), websocket.MessageText, []byte(`{"code":500,"headers":{"messageId":"`+id+`"}}`)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range 3 {
		if a := <-got; a.Code != 200 {
			t.Errorf("ack %+v, want the first, 200", a)
		}
	}
	if a, err := s.WaitAck(testCtx(t), ids[0]); err != nil || a.MessageID != ids[0] {
		t.Errorf("ack received before the wait: %+v, %v", a, err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	cancel()
	if _, err := s.WaitAck(ctx, "never-acked"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
}

// A watcher of Changes hears of an expired webhook's refusal, which
// delivers nothing, so that it can show it.
func TestChangesFiresOnRefusedWebhook(t *testing.T) {
	s := newServer(t)
	dialRaw(t, s)
	p, err := s.PushBotMessage(BotMessage{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	s.ExpireWebhooks()
	changed := s.Changes()
	b, _ := json.Marshal(map[string]any{"msgtype": "text", "text": map[string]string{"content": "late"}})
	postRaw(t, s.URL()+WebhookPath+"?session="+p.Session, "application/json", b)
	select {
	case <-changed:
	case <-testCtx(t).Done():
		t.Fatal("Changes did not fire for a refused webhook post")
	}
	if calls := s.WebhookCalls(); len(calls) != 1 || calls[0].Errcode != ErrcodeSessionMissing {
		t.Errorf("webhook calls = %+v, want one answered %d", calls, ErrcodeSessionMissing)
	}
}
