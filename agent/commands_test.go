package agent

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"picoclaw"
)

func TestCommands(t *testing.T) {
	tests := []struct {
		text      string
		wantReply string // substring of the reply
		wantReset bool
	}{
		{"/new", "New conversation started", true},
		{"  /NEW  ", "New conversation started", true},
		{"／new", "已开始新会话", true}, // full-width slash
		{"/reset", "New conversation started", true},
		{"新会话", "已开始新会话", true},
		{" 重置\n", "已开始新会话", true},
		{"/help", "/reset", false},
		{"帮助", "/model", false},
		{"/Help", "新会话", false},
		{"/model", "test-model (model_list: fast)", false},
		{"/stop", "Nothing is running", false},
		{"停止", "当前没有正在进行的任务", false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			p := answer("model answer", "")
			h := newHarness(t, p, func(c *Config) { c.ModelEntry = "fast" })
			key := testIn.SessionKey()
			old := []picoclaw.Message{{Role: picoclaw.RoleUser, Content: "old"}}
			h.store.msgs[key] = old
			// testIn is a group chat: the channel has already stripped
			// the @mention, so the agent sees the bare command.
			in := testIn
			in.Text = tt.text
			if err := h.agent.Turn(context.Background(), in); err != nil {
				t.Fatalf("Turn: %v", err)
			}
			if n := len(p.requests()); n != 0 {
				t.Errorf("model called %d times for a command", n)
			}
			sent := h.out.sent()
			if len(sent) != 1 || sent[0].Kind != picoclaw.OutAnswer || sent[0].Chat != in.Chat ||
				sent[0].ReplyTo != in.MessageID || !strings.Contains(sent[0].Text, tt.wantReply) {
				t.Errorf("sent %+v, want one reply containing %q", sent, tt.wantReply)
			}
			hist := h.store.history(key)
			if tt.wantReset && len(hist) != 0 {
				t.Errorf("history after reset = %+v, want empty", hist)
			}
			if !tt.wantReset && len(hist) != len(old) {
				t.Errorf("history = %+v, want it untouched (and the command not recorded)", hist)
			}
		})
	}
}

func TestNotCommandsGoToTheModel(t *testing.T) {
	for _, text := range []string{"/xyz", "/new please", "停止使用代理怎么办", "help", "/ new"} {
		t.Run(text, func(t *testing.T) {
			p := answer("model answer", "")
			h := newHarness(t, p, nil)
			in := testIn
			in.Text = text
			if err := h.agent.Turn(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			reqs := p.requests()
			if len(reqs) != 1 || reqs[0].Messages[len(reqs[0].Messages)-1].Content != text {
				t.Errorf("requests %+v, want the text sent to the model", reqs)
			}
		})
	}
}

func TestResetFailureIsReported(t *testing.T) {
	h := newHarness(t, answer("x", ""), nil)
	store := &failingReset{memStore: h.store}
	h.agent.cfg.Sessions = store
	in := testIn
	in.Text = "/new"
	err := h.agent.Turn(context.Background(), in)
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("Turn = %v, want the reset error", err)
	}
	if sent := h.out.sent(); len(sent) != 1 || !strings.Contains(sent[0].Text, "Sorry") {
		t.Errorf("sent %+v, want an apology", sent)
	}
}

type failingReset struct{ *memStore }

func (failingReset) Reset(context.Context, picoclaw.SessionKey) error {
	return errors.New("read-only file system")
}

func TestStopCancelsRunningTurn(t *testing.T) {
	entered := make(chan struct{})
	p := &fakeProvider{reply: func(ctx context.Context, _ int, _ picoclaw.Request) (*picoclaw.Response, error) {
		close(entered)
		<-ctx.Done() // blocked until stopped
		return nil, context.Cause(ctx)
	}}
	h := newHarness(t, p, nil)
	h.out.notify = make(chan picoclaw.Outbound, 4)
	d := h.agent.NewDispatcher(DispatcherOptions{})

	other := testIn
	other.Chat.ID = "another chat"
	other.Text = "/stop"

	if !d.Dispatch(testIn) {
		t.Fatal("Dispatch = false")
	}
	<-entered
	// A stop in another chat stops nothing here.
	d.Dispatch(other)
	if got := <-h.out.notify; got.Chat != other.Chat || got.Text != notRunningText {
		t.Errorf("stop in another chat sent %+v, want %q there", got, notRunningText)
	}
	stop := testIn
	stop.MessageID, stop.Text = "msg2", "停止"
	if !d.Dispatch(stop) {
		t.Fatal("Dispatch(stop) = false")
	}
	if got := <-h.out.notify; got.Text != stoppedText || got.ReplyTo != "msg2" {
		t.Errorf("stop sent %+v, want %q replying to msg2", got, stoppedText)
	}
	mustShutdown(t, d)

	if d.Cancel(testIn.SessionKey()) {
		t.Error("Cancel after the turn ended = true")
	}
	hist := h.store.history(testIn.SessionKey())
	if got := brief(hist); !slices.Equal(got, []string{"user:" + testIn.Text}) {
		t.Errorf("history = %q, want the user message only", got)
	}
	if sent := h.out.sent(); len(sent) != 2 {
		t.Errorf("sent %+v, want only the two stop replies (no apology)", sent)
	}
}
