package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"picoclaw"
)

// callTools is a response asking for the named tools, with IDs c0, c1, ….
func callTools(reasoning string, names ...string) *picoclaw.Response {
	r := &picoclaw.Response{Reasoning: reasoning, FinishReason: "tool_calls"}
	for i, n := range names {
		r.ToolCalls = append(r.ToolCalls, picoclaw.ToolCall{ID: fmt.Sprint("c", i), Name: n, Arguments: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))})
	}
	return r
}

func TestToolRoundTrip(t *testing.T) {
	var seen []picoclaw.Inbound
	tools := fakeTools{"echo": func(ctx context.Context, args json.RawMessage) (string, error) {
		in, ok := InboundFrom(ctx)
		if !ok {
			return "", errors.New("no inbound in context")
		}
		seen = append(seen, in)
		return "echo " + string(args), nil
	}}
	p := &fakeProvider{reply: func(_ context.Context, call int, req picoclaw.Request) (*picoclaw.Response, error) {
		if call == 0 {
			return callTools("need a tool", "echo"), nil
		}
		return &picoclaw.Response{Content: "the tool said: " + req.Messages[len(req.Messages)-1].Content, Reasoning: "got it"}, nil
	}}
	h := newHarness(t, p, func(c *Config) { c.Tools = tools })

	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatalf("Turn: %v", err)
	}

	reqs := p.requests()
	if len(reqs) != 2 {
		t.Fatalf("provider called %d times, want 2", len(reqs))
	}
	if got := toolNames(reqs[0].Tools); !slices.Equal(got, []string{"echo", "spawn"}) {
		t.Errorf("tools offered = %q, want echo and spawn", got)
	}
	if got, want := brief(reqs[1].Messages[1:]), []string{
		"user:" + testIn.Text, "assistant:calls:c0", `tool:c0=echo {"n":0}`,
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("second request = %q, want %q", got, want)
	}
	if len(seen) != 1 || seen[0].MessageID != testIn.MessageID || seen[0].Chat != testIn.Chat {
		t.Errorf("tool saw inbound %+v, want the turn's", seen)
	}

	wantHist := []string{"user:" + testIn.Text, "assistant:calls:c0", `tool:c0=echo {"n":0}`, `assistant:the tool said: echo {"n":0}`}
	hist := h.store.history(testIn.SessionKey())
	if got := brief(hist); !reflect.DeepEqual(got, wantHist) {
		t.Errorf("history = %q, want %q", got, wantHist)
	}
	if hist[2].Name != "echo" {
		t.Errorf("tool message name = %q, want echo", hist[2].Name)
	}
	sent := h.out.sent()
	if len(sent) != 2 || sent[0].Text != wantHist[3][len("assistant:"):] ||
		sent[1].Kind != picoclaw.OutReasoning || sent[1].Text != "need a tool\n\ngot it" {
		t.Errorf("sent %+v, want the answer and one joined reasoning message", sent)
	}
}

func TestParallelToolCallsKeepOrder(t *testing.T) {
	// synctest reports the deadlock if the calls run one at a time.
	synctest.Test(t, testParallelToolCalls)
}

func testParallelToolCalls(t *testing.T) {
	const n = 3
	started := make(chan int, n)
	finished := make([]chan struct{}, n+1)
	for i := range finished {
		finished[i] = make(chan struct{})
	}
	close(finished[n])
	tools := fakeTools{"slow": func(_ context.Context, args json.RawMessage) (string, error) {
		var a struct{ N int }
		if err := json.Unmarshal(args, &a); err != nil {
			return "", err
		}
		started <- a.N
		// Each call waits for the next one to finish, so they finish in
		// reverse order, and only if all run at once.
		<-finished[a.N+1]
		defer close(finished[a.N])
		return fmt.Sprint("result ", a.N), nil
	}}
	p := &fakeProvider{reply: func(_ context.Context, call int, _ picoclaw.Request) (*picoclaw.Response, error) {
		if call == 0 {
			return callTools("", "slow", "slow", "slow"), nil
		}
		return &picoclaw.Response{Content: "done"}, nil
	}}
	h := newHarness(t, p, func(c *Config) { c.Tools = tools })
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatalf("Turn: %v", err)
	}
	want := []string{"user:" + testIn.Text, "assistant:calls:c0,c1,c2",
		"tool:c0=result 0", "tool:c1=result 1", "tool:c2=result 2", "assistant:done"}
	if got := brief(h.store.history(testIn.SessionKey())); !reflect.DeepEqual(got, want) {
		t.Errorf("history = %q, want %q", got, want)
	}
}

func TestToolErrorsGoBackToTheModel(t *testing.T) {
	tools := fakeTools{
		"fail":  func(context.Context, json.RawMessage) (string, error) { return "", errors.New("disk on fire") },
		"panic": func(context.Context, json.RawMessage) (string, error) { panic("kaboom") },
	}
	p := &fakeProvider{reply: func(_ context.Context, call int, _ picoclaw.Request) (*picoclaw.Response, error) {
		if call == 0 {
			return callTools("", "fail", "nope", "panic"), nil
		}
		return &picoclaw.Response{Content: "recovered"}, nil
	}}
	h := newHarness(t, p, func(c *Config) { c.Tools = tools })
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatalf("Turn: %v", err)
	}
	reqs := p.requests()
	if len(reqs) != 2 {
		t.Fatalf("provider called %d times, want 2", len(reqs))
	}
	results := reqs[1].Messages[3:]
	for i, want := range []string{"error: disk on fire", `error: unknown tool "nope"`, "error: tool panic failed: internal error (panic: kaboom)"} {
		if results[i].Role != picoclaw.RoleTool || results[i].Content != want {
			t.Errorf("result %d = %+v, want %q", i, results[i], want)
		}
	}
	if sent := h.out.sent(); len(sent) != 1 || sent[0].Text != "recovered" {
		t.Errorf("sent %+v, want the answer", sent)
	}
}

func TestToolIterationLimit(t *testing.T) {
	tools := fakeTools{"look": func(context.Context, json.RawMessage) (string, error) { return "more", nil }}
	p := &fakeProvider{reply: func(_ context.Context, _ int, req picoclaw.Request) (*picoclaw.Response, error) {
		if len(req.Tools) > 0 {
			return callTools("", "look"), nil // never satisfied
		}
		return &picoclaw.Response{Content: "best effort"}, nil
	}}
	h := newHarness(t, p, func(c *Config) { c.Tools = tools; c.MaxToolIterations = 2 })
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatalf("Turn: %v", err)
	}
	reqs := p.requests()
	if len(reqs) != 3 {
		t.Fatalf("provider called %d times, want 3 (two rounds, one final)", len(reqs))
	}
	last := reqs[2]
	if len(last.Tools) != 0 {
		t.Errorf("final request offered tools %q", toolNames(last.Tools))
	}
	if m := last.Messages[len(last.Messages)-1]; m.Role != picoclaw.RoleUser || m.Content != limitPrompt(2) {
		t.Errorf("final request ends with %+v, want the limit prompt", m)
	}
	wantAnswer := "best effort" + limitLine(2)
	if !strings.Contains(wantAnswer, "工具调用上限 2") || !strings.Contains(wantAnswer, "tool-call limit (2)") {
		t.Fatalf("limit line %q lacks the bilingual note", wantAnswer)
	}
	if sent := h.out.sent(); len(sent) != 1 || sent[0].Text != wantAnswer {
		t.Errorf("sent %+v, want %q", sent, wantAnswer)
	}
	want := []string{"user:" + testIn.Text, "assistant:calls:c0", "tool:c0=more", "assistant:calls:c0", "tool:c0=more", "assistant:" + wantAnswer}
	if got := brief(h.store.history(testIn.SessionKey())); !reflect.DeepEqual(got, want) {
		t.Errorf("history = %q, want %q (limit prompt not stored)", got, want)
	}
}

func TestCancelledTurnKeepsConsistentHistory(t *testing.T) {
	tests := []struct {
		name string
		// blockAt: the model call (0, 1) or "tool" where the turn is
		// stopped.
		blockAt  string
		wantHist []string
	}{
		{"during first model call", "call0", []string{"user:" + testIn.Text}},
		{"during a tool", "tool", []string{"user:" + testIn.Text, "assistant:calls:c0,c1", "tool:c0=quick",
			"tool:c1=error: stopped: " + ErrStopped.Error()}},
		{"during second model call", "call1", []string{"user:" + testIn.Text, "assistant:calls:c0,c1", "tool:c0=quick", "tool:c1=slow done"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocked := make(chan struct{})
			block := func(ctx context.Context, where string) error {
				if where != tt.blockAt {
					return nil
				}
				close(blocked)
				<-ctx.Done()
				return fmt.Errorf("stopped: %w", context.Cause(ctx))
			}
			tools := fakeTools{
				"quick": func(context.Context, json.RawMessage) (string, error) { return "quick", nil },
				"slow": func(ctx context.Context, _ json.RawMessage) (string, error) {
					if err := block(ctx, "tool"); err != nil {
						return "", err
					}
					return "slow done", nil
				},
			}
			p := &fakeProvider{reply: func(ctx context.Context, call int, _ picoclaw.Request) (*picoclaw.Response, error) {
				if err := block(ctx, fmt.Sprint("call", call)); err != nil {
					return nil, err
				}
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				if call == 0 {
					return callTools("", "quick", "slow"), nil
				}
				return &picoclaw.Response{Content: "never"}, nil
			}}
			h := newHarness(t, p, func(c *Config) { c.Tools = tools })
			ctx, cancel := context.WithCancelCause(context.Background())
			done := make(chan error)
			go func() { done <- h.agent.Turn(ctx, testIn) }()
			<-blocked
			cancel(ErrStopped)
			if err := <-done; !errors.Is(err, ErrStopped) {
				t.Errorf("Turn = %v, want ErrStopped", err)
			}
			hist := h.store.history(testIn.SessionKey())
			if got := brief(hist); !reflect.DeepEqual(got, tt.wantHist) {
				t.Errorf("history = %q, want %q", got, tt.wantHist)
			}
			if !consistent(hist) {
				t.Errorf("history %q has a tool call without its result", brief(hist))
			}
			if sent := h.out.sent(); len(sent) != 0 {
				t.Errorf("sent %+v, want nothing (the stop command answers)", sent)
			}
		})
	}
}

func TestNoToolsConfiguredOffersNone(t *testing.T) {
	p := answer("plain", "")
	h := newHarness(t, p, nil)
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatal(err)
	}
	if reqs := p.requests(); len(reqs) != 1 || len(reqs[0].Tools) != 0 {
		t.Errorf("requests %+v, want one without tools", reqs)
	}
}
