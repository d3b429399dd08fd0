package agent

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
	"picoclaw/session"
)

var testNow = time.Date(2026, 3, 4, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

var testIn = picoclaw.Inbound{
	Channel:    "dingtalk",
	Chat:       picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidAbC+/x=="},
	SenderID:   "staff01",
	SenderName: "张三",
	MessageID:  "msg1",
	Text:       "今天天气怎么样？",
}

type harness struct {
	agent *Agent
	store *memStore
	out   *outbox
	logs  *logBuffer
}

func newHarness(t *testing.T, p picoclaw.Provider, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{store: newMemStore(), out: &outbox{}, logs: &logBuffer{}}
	cfg := Config{
		Provider: p,
		Sessions: h.store,
		Send:     h.out.send,
		Model:    "test-model",
		Logger:   h.logs.logger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.agent = a
	t.Cleanup(a.Close)
	return h
}

func TestNewValidates(t *testing.T) {
	ok := Config{Provider: answer("a", ""), Sessions: newMemStore(), Send: (&outbox{}).send}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no provider", func(c *Config) { c.Provider = nil }},
		{"no sessions", func(c *Config) { c.Sessions = nil }},
		{"no send", func(c *Config) { c.Send = nil }},
		{"negative history", func(c *Config) { c.MaxHistory = -1 }},
		{"negative max tokens", func(c *Config) { c.MaxTokens = -1 }},
		{"negative timeout", func(c *Config) { c.TurnTimeout = -time.Second }},
		{"negative tool iterations", func(c *Config) { c.MaxToolIterations = -1 }},
		{"negative subagents", func(c *Config) { c.MaxSubagents = -1 }},
		{"negative window", func(c *Config) { c.ContextWindow = -1 }},
		{"negative threshold", func(c *Config) { c.SummarizeMessageThreshold = -1 }},
		{"percent over 100", func(c *Config) { c.SummarizeTokenPercent = 101 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			if _, err := New(cfg); err == nil {
				t.Error("New: want error")
			}
		})
	}
	a, err := New(ok)
	if err != nil {
		t.Fatalf("New(valid): %v", err)
	}
	t.Cleanup(a.Close)
	c := a.cfg
	if c.MaxHistory != DefaultMaxHistory || c.TurnTimeout != DefaultTurnTimeout || c.MaxToolIterations != DefaultMaxToolIterations ||
		c.MaxSubagents != DefaultMaxSubagents || c.ContextWindow != DefaultContextWindow ||
		c.SummarizeMessageThreshold != DefaultSummarizeMessageThreshold || c.SummarizeTokenPercent != DefaultSummarizeTokenPercent {
		t.Errorf("defaults not applied: %+v", c)
	}
}

func TestTurnSendsAnswerAndSeparateReasoning(t *testing.T) {
	// In a bubble the clock stands still while the turn runs, so the
	// history's timestamps are exactly the turn's start.
	synctest.Test(t, testTurnSendsAnswerAndSeparateReasoning)
}

func testTurnSendsAnswerAndSeparateReasoning(t *testing.T) {
	start := time.Now()
	temp := 0.3
	p := answer("晴天。Sunny.", "let me think about the weather")
	h := newHarness(t, p, func(c *Config) { c.MaxTokens = 512; c.Temperature = &temp })
	in := testIn
	in.Attachments = []picoclaw.Attachment{
		{Kind: "image", Name: "a.png", Data: []byte("png")},
		{Kind: "file", Name: "b.pdf"},
	}

	if err := h.agent.Turn(context.Background(), in); err != nil {
		t.Fatalf("Turn: %v", err)
	}

	want := []picoclaw.Outbound{
		{Channel: "dingtalk", Chat: in.Chat, Kind: picoclaw.OutAnswer, Text: "晴天。Sunny.", ReplyTo: "msg1", SenderID: "staff01"},
		{Channel: "dingtalk", Chat: in.Chat, Kind: picoclaw.OutReasoning, Text: "let me think about the weather", ReplyTo: "msg1", SenderID: "staff01"},
	}
	if got := h.out.sent(); !reflect.DeepEqual(got, want) {
		t.Errorf("sent %+v\nwant %+v", got, want)
	}

	reqs := p.requests()
	if len(reqs) != 1 {
		t.Fatalf("provider called %d times, want 1", len(reqs))
	}
	req := reqs[0]
	if req.Model != "test-model" || req.MaxTokens != 512 || req.Temperature != &temp {
		t.Errorf("request settings = %q, %d, %v", req.Model, req.MaxTokens, req.Temperature)
	}
	if len(req.Messages) != 2 || req.Messages[0].Role != picoclaw.RoleSystem || req.Messages[1].Role != picoclaw.RoleUser {
		t.Fatalf("request messages = %+v, want [system, user]", req.Messages)
	}
	if !strings.Contains(req.Messages[0].Content, "张三") {
		t.Errorf("system prompt lacks the sender: %q", req.Messages[0].Content)
	}
	user := req.Messages[1]
	if user.Content != in.Text || len(user.Images) != 1 || user.Images[0].Name != "a.png" {
		t.Errorf("user message = %+v, want the text and only the image", user)
	}

	wantHist := []picoclaw.Message{
		{Role: picoclaw.RoleUser, Content: in.Text, Time: start},
		{Role: picoclaw.RoleAssistant, Content: "晴天。Sunny.", Reasoning: "let me think about the weather", Time: start},
	}
	if got := h.store.msgs[in.SessionKey()]; !reflect.DeepEqual(got, wantHist) {
		t.Errorf("history %+v\nwant %+v", got, wantHist)
	}
}

func TestTurnWithoutReasoningSendsOnlyAnswer(t *testing.T) {
	h := newHarness(t, answer("hi", ""), nil)
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatal(err)
	}
	if got := h.out.sent(); len(got) != 1 || got[0].Kind != picoclaw.OutAnswer || got[0].Text != "hi" {
		t.Errorf("sent %+v, want one answer", got)
	}
}

func TestTurnEmptyAnswer(t *testing.T) {
	h := newHarness(t, answer("  \n", ""), nil)
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatal(err)
	}
	got := h.out.sent()
	if len(got) != 1 || got[0].Text != emptyAnswer {
		t.Errorf("sent %+v, want the empty-answer placeholder", got)
	}
}

func TestTurnUsesPersistedHistory(t *testing.T) {
	dir := t.TempDir()
	p := &fakeProvider{reply: func(_ context.Context, call int, _ picoclaw.Request) (*picoclaw.Response, error) {
		return &picoclaw.Response{Content: fmt.Sprintf("answer %d", call)}, nil
	}}
	turn := func(text string) {
		t.Helper()
		// A new Store and Agent each time: history must survive a restart.
		store, err := session.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(Config{Provider: p, Sessions: store, Send: (&outbox{}).send, MaxHistory: 3})
		if err != nil {
			t.Fatal(err)
		}
		in := testIn
		in.Text = text
		if err := a.Turn(context.Background(), in); err != nil {
			t.Fatalf("Turn: %v", err)
		}
	}
	turn("first")
	turn("second")
	turn("third")

	reqs := p.requests()
	contents := func(msgs []picoclaw.Message) []string {
		var out []string
		for _, m := range msgs[1:] { // skip the system prompt
			out = append(out, string(m.Role)+":"+m.Content)
		}
		return out
	}
	if got, want := contents(reqs[1].Messages), []string{"user:first", "assistant:answer 0", "user:second"}; !reflect.DeepEqual(got, want) {
		t.Errorf("second turn sent %q, want %q", got, want)
	}
	// MaxHistory 3 keeps the last three stored messages.
	if got, want := contents(reqs[2].Messages), []string{"assistant:answer 0", "user:second", "assistant:answer 1", "user:third"}; !reflect.DeepEqual(got, want) {
		t.Errorf("third turn sent %q, want %q", got, want)
	}
}

func TestTrimHistory(t *testing.T) {
	m := func(role picoclaw.Role, c string) picoclaw.Message { return picoclaw.Message{Role: role, Content: c} }
	u, a, tool := picoclaw.RoleUser, picoclaw.RoleAssistant, picoclaw.RoleTool
	hist := []picoclaw.Message{m(u, "1"), m(a, "2"), m(tool, "3"), m(tool, "4"), m(a, "5"), m(u, "6")}
	tests := []struct {
		max  int
		want []string
	}{
		{10, []string{"1", "2", "3", "4", "5", "6"}},
		{5, []string{"2", "3", "4", "5", "6"}},
		{4, []string{"5", "6"}}, // would start with orphan tool results
		{3, []string{"5", "6"}},
		{1, []string{"6"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.max), func(t *testing.T) {
			var got []string
			for _, msg := range trimHistory(hist, tt.max) {
				got = append(got, msg.Content)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("trimHistory(max %d) = %q, want %q", tt.max, got, tt.want)
			}
		})
	}
}

func TestTurnProviderErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantKind  string
		wantText  string
		wantCalls int
	}{
		{"rate limit", &picoclaw.RateLimitError{RetryAfter: 3 * time.Second, Err: errors.New("429")}, "rate_limit", "繁忙", 3},
		{"temporary", fmt.Errorf("openai: %w: 503", picoclaw.ErrTemporary), "temporary", "暂时不可用", 3},
		{"auth", fmt.Errorf("openai: %w: 401", picoclaw.ErrAuth), "auth", "配置", 1},
		{"context length", fmt.Errorf("openai: %w", picoclaw.ErrContextLength), "context_length", "对话太长", 1},
		{"bad response", fmt.Errorf("openai: %w", picoclaw.ErrBadResponse), "other", "无法回答", 1},
		{"timeout", nil, "timeout", "超时", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := &fakeProvider{reply: func(ctx context.Context, _ int, _ picoclaw.Request) (*picoclaw.Response, error) {
					if tt.err == nil { // hang until the turn times out
						<-ctx.Done()
						return nil, fmt.Errorf("openai: %w", ctx.Err())
					}
					return nil, tt.err
				}}
				h := newHarness(t, p, func(c *Config) { c.TurnTimeout = time.Minute })

				err := h.agent.Turn(context.Background(), testIn)
				if err == nil {
					t.Error("Turn: want the model error returned")
				}
				if got := len(p.requests()); got != tt.wantCalls {
					t.Errorf("provider called %d times, want %d", got, tt.wantCalls)
				}
				sent := h.out.sent()
				if len(sent) != 1 || sent[0].Kind != picoclaw.OutAnswer || sent[0].ReplyTo != "msg1" ||
					!strings.Contains(sent[0].Text, tt.wantText) || !strings.Contains(sent[0].Text, "Sorry") {
					t.Errorf("sent %+v, want one apology containing %q", sent, tt.wantText)
				}
				hist := h.store.msgs[testIn.SessionKey()]
				if len(hist) != 1 || hist[0].Role != picoclaw.RoleUser || hist[0].Content != testIn.Text {
					t.Errorf("history %+v, want only the user message", hist)
				}
				errs := h.logs.errorRecords(t)
				if len(errs) != 1 || errs[0]["session"] != string(testIn.SessionKey()) || errs[0]["kind"] != tt.wantKind {
					t.Errorf("error logs %v, want one with session and kind %q", errs, tt.wantKind)
				}
			})
		})
	}
}

func TestTurnRetries(t *testing.T) {
	tests := []struct {
		name     string
		errs     []error // returned by the first calls; then success
		wantWait time.Duration
	}{
		{"temporary once", []error{picoclaw.ErrTemporary}, time.Second},
		{"temporary twice", []error{picoclaw.ErrTemporary, picoclaw.ErrTemporary}, 3 * time.Second},
		{"rate limit retry-after", []error{&picoclaw.RateLimitError{RetryAfter: 5 * time.Second}}, 5 * time.Second},
		{"rate limit retry-after capped", []error{&picoclaw.RateLimitError{RetryAfter: time.Hour}}, maxRetryAfter},
		{"rate limit without retry-after", []error{&picoclaw.RateLimitError{}}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := &fakeProvider{reply: func(_ context.Context, call int, _ picoclaw.Request) (*picoclaw.Response, error) {
					if call < len(tt.errs) {
						return nil, tt.errs[call]
					}
					return &picoclaw.Response{Content: "ok"}, nil
				}}
				h := newHarness(t, p, nil)
				start := time.Now()
				if err := h.agent.Turn(context.Background(), testIn); err != nil {
					t.Fatalf("Turn: %v", err)
				}
				// Fake time: this is exactly the backoff waited.
				if waited := time.Since(start); waited != tt.wantWait {
					t.Errorf("waited %s, want %s", waited, tt.wantWait)
				}
				if sent := h.out.sent(); len(sent) != 1 || sent[0].Text != "ok" {
					t.Errorf("sent %+v, want one answer", sent)
				}
				if got := len(p.requests()); got != len(tt.errs)+1 {
					t.Errorf("provider called %d times, want %d", got, len(tt.errs)+1)
				}
			})
		})
	}
}

func TestTurnRetryBackoffStopsOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakeProvider{reply: func(context.Context, int, picoclaw.Request) (*picoclaw.Response, error) {
			return nil, picoclaw.ErrTemporary
		}}
		h := newHarness(t, p, nil)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- h.agent.Turn(ctx, testIn) }()
		synctest.Wait() // Turn is waiting out the first backoff
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) || !errors.Is(err, picoclaw.ErrTemporary) {
			t.Errorf("Turn = %v, want the model error and the cancellation", err)
		}
		if got := len(p.requests()); got != 1 {
			t.Errorf("provider called %d times, want 1", got)
		}
	})
}

func TestTurnSessionWriteErrorStillReplies(t *testing.T) {
	h := newHarness(t, answer("hi", ""), nil)
	h.store.appendErr = errors.New("disk full")
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatalf("Turn: %v", err)
	}
	if sent := h.out.sent(); len(sent) != 1 || sent[0].Text != "hi" {
		t.Errorf("sent %+v, want the answer", sent)
	}
	errs := h.logs.errorRecords(t)
	if len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]["err"]), "disk full") {
		t.Errorf("error logs %v, want the session write failure", errs)
	}
}

func TestTurnSendErrorIsReturnedAndLogged(t *testing.T) {
	h := newHarness(t, answer("hi", "thinking"), nil)
	h.out.err = errors.New("webhook expired")
	err := h.agent.Turn(context.Background(), testIn)
	if err == nil || !strings.Contains(err.Error(), "webhook expired") {
		t.Errorf("Turn = %v, want the send error", err)
	}
	if sent := h.out.sent(); len(sent) != 2 {
		t.Errorf("sent %d messages, want the reasoning tried despite the failed answer", len(sent))
	}
	if errs := h.logs.errorRecords(t); len(errs) != 2 {
		t.Errorf("error logs %v, want two send failures", errs)
	}
}
