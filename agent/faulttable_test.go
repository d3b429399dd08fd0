package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
)

// streamProvider streams chunk n times (or until ctx ends) through
// onDelta and then answers with the whole text, like a real provider.
type streamProvider struct {
	chunk     string
	n         int
	sent      atomic.Int64 // chunks handed to onDelta
	cancelled atomic.Bool  // ctx ended before the stream did
}

func (p *streamProvider) Complete(ctx context.Context, _ picoclaw.Request, onDelta func(picoclaw.Delta)) (*picoclaw.Response, error) {
	var b strings.Builder
	for range p.n {
		if ctx.Err() != nil {
			p.cancelled.Store(true)
			return nil, context.Cause(ctx)
		}
		b.WriteString(p.chunk)
		p.sent.Add(1)
		if onDelta != nil {
			onDelta(picoclaw.Delta{Content: p.chunk})
		}
	}
	return &picoclaw.Response{Content: b.String(), FinishReason: "stop"}, nil
}

// A model streaming a 20 MB answer is cut off at MaxAnswerBytes: the
// stream is cancelled right there (not read to its end), and the user gets
// the first MaxAnswerBytes with a visible "[answer truncated]".
func TestFaultTableHugeAnswerIsCutOff(t *testing.T) {
	p := &streamProvider{chunk: strings.Repeat("长", 1000) + "\n", n: 20 << 20 / 3001}
	h := newHarness(t, p, func(c *Config) { c.MaxAnswerBytes = 64 << 10 })
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatalf("Turn: %v", err)
	}
	sent := h.out.sent()
	if len(sent) != 1 || !strings.HasSuffix(sent[0].Text, TruncatedMark) {
		t.Fatalf("sent %d messages; want one ending in %q", len(sent), TruncatedMark)
	}
	body := strings.TrimSuffix(sent[0].Text, TruncatedMark)
	if len(body) > 64<<10 || !strings.HasPrefix(body, p.chunk) || !strings.Contains(body, "长") {
		t.Errorf("answer is %d bytes, want the start of the stream, at most 64 KiB", len(body))
	}
	if !p.cancelled.Load() || p.sent.Load() > 30 {
		t.Errorf("provider streamed %d chunks (cancelled: %v); want the request cancelled right after 64 KiB", p.sent.Load(), p.cancelled.Load())
	}
	hist := h.store.history(testIn.SessionKey())
	if last := hist[len(hist)-1]; last.Content != sent[0].Text {
		t.Error("history does not hold the truncated answer the user got")
	}
}

// One tool result is capped in history (later turns reload it), and at
// MaxParallelTools calls of one reply run at once.
func TestFaultTableToolLimits(t *testing.T) {
	var running, peak atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	tools := fakeTools{"big": func(ctx context.Context, _ json.RawMessage) (string, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n == MaxParallelTools {
			once.Do(func() { close(release) })
		}
		<-release
		return strings.Repeat("x", 100<<10), nil
	}}
	p := &fakeProvider{reply: func(_ context.Context, call int, _ picoclaw.Request) (*picoclaw.Response, error) {
		if call == 0 {
			return callTools("", "big", "big", "big", "big", "big", "big", "big", "big", "big", "big"), nil
		}
		return &picoclaw.Response{Content: "done"}, nil
	}}
	h := newHarness(t, p, func(c *Config) { c.Tools = tools })
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatal(err)
	}
	if got := peak.Load(); got != MaxParallelTools {
		t.Errorf("at most %d tools ran at once, want %d", got, MaxParallelTools)
	}
	reqs := p.requests()
	if got := reqs[1].Messages[len(reqs[1].Messages)-1].Content; len(got) != 100<<10 {
		t.Errorf("the model got a %d-byte tool result, want all 100 KiB", len(got))
	}
	for _, m := range h.store.history(testIn.SessionKey()) {
		if m.Role == picoclaw.RoleTool && (len(m.Content) > maxStoredToolResultBytes+100 || !strings.Contains(m.Content, "[tool result truncated")) {
			t.Errorf("history keeps a %d-byte tool result, want it capped at %d", len(m.Content), maxStoredToolResultBytes)
		}
	}
}

// A tool deaf to its context (stuck in a system call) cannot hold the
// turn: at the turn's time limit the user gets an apology, and the chat's
// next message is answered.
func TestFaultTableStuckToolTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stuck := make(chan struct{})
		defer close(stuck)
		tools := fakeTools{"hang": func(context.Context, json.RawMessage) (string, error) {
			<-stuck
			return "", nil
		}}
		p := &fakeProvider{reply: func(ctx context.Context, call int, req picoclaw.Request) (*picoclaw.Response, error) {
			if ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
			if req.Messages[len(req.Messages)-1].Content == "hang please" {
				return callTools("", "hang"), nil
			}
			return &picoclaw.Response{Content: "answer to " + req.Messages[len(req.Messages)-1].Content}, nil
		}}
		h := newHarness(t, p, func(c *Config) { c.Tools = tools; c.TurnTimeout = time.Minute })
		var dead []string
		d := h.agent.NewDispatcher(DispatcherOptions{DeadLetter: func(in picoclaw.Inbound, reason string) error {
			dead = append(dead, in.MessageID+": "+reason)
			return nil
		}})
		in := testIn
		in.Text = "hang please"
		d.Dispatch(in)
		next := testIn
		next.MessageID, next.Text = "msg2", "next"
		d.Dispatch(next)
		mustShutdown(t, d)
		sent := h.out.sent()
		if len(sent) != 2 || !strings.Contains(sent[0].Text, "took too long") || sent[1].Text != "answer to next" {
			t.Errorf("sent %+v; want a timeout apology, then the next answer", sent)
		}
		if len(dead) != 1 || !strings.Contains(dead[0], "msg1: agent: turn") || !strings.Contains(dead[0], "timed out (1m0s)") {
			t.Errorf("dead letters %q, want the timed-out message with its reason", dead)
		}
	})
}

// Tool rounds share a time budget: once used up, further calls are not
// run and the model is told so, and still answers.
func TestFaultTableToolTimeBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		tools := fakeTools{"slow": func(ctx context.Context, _ json.RawMessage) (string, error) {
			calls.Add(1)
			<-ctx.Done()
			return "", context.Cause(ctx)
		}}
		p := &fakeProvider{reply: func(_ context.Context, call int, req picoclaw.Request) (*picoclaw.Response, error) {
			if call < 3 {
				return callTools("", "slow"), nil
			}
			return &picoclaw.Response{Content: "gave up on tools"}, nil
		}}
		h := newHarness(t, p, func(c *Config) { c.Tools = tools; c.ToolTimeBudget = 10 * time.Second })
		start := time.Now()
		if err := h.agent.Turn(context.Background(), testIn); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 10*time.Second {
			t.Errorf("turn took %s, want the 10s tool budget", took)
		}
		if calls.Load() != 1 {
			t.Errorf("tool ran %d times, want once (later rounds refused)", calls.Load())
		}
		last := p.requests()[3].Messages
		if got := last[len(last)-1].Content; !strings.Contains(got, "tool time budget") {
			t.Errorf("the model was told %q, want the budget named", got)
		}
	})
}

// A turn that crashes (panics) twice is given up on: the user gets one
// short apology, the message is dead-lettered with the reason, and the
// next message of the chat is answered. A single crash is retried.
func TestFaultTableCrashingTurnIsDeadLettered(t *testing.T) {
	var calls atomic.Int32
	p := &fakeProvider{reply: func(_ context.Context, _ int, req picoclaw.Request) (*picoclaw.Response, error) {
		text := req.Messages[len(req.Messages)-1].Content
		if text == "poison" || (text == "flaky" && calls.Add(1) == 1) {
			panic("model client bug")
		}
		return &picoclaw.Response{Content: "answer to " + text}, nil
	}}
	h := newHarness(t, p, nil)
	var mu sync.Mutex
	attempts := map[string]int{}
	dead := map[string]string{}
	after := map[string]error{}
	d := h.agent.NewDispatcher(DispatcherOptions{
		Attempt: func(in picoclaw.Inbound) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			attempts[in.MessageID]++
			return attempts[in.MessageID], nil
		},
		DeadLetter: func(in picoclaw.Inbound, reason string) error {
			mu.Lock()
			defer mu.Unlock()
			dead[in.MessageID] = reason
			return nil
		},
		AfterTurn: func(in picoclaw.Inbound, err error) {
			mu.Lock()
			defer mu.Unlock()
			after[in.MessageID] = err
		},
	})
	for i, text := range []string{"poison", "flaky", "next"} {
		in := testIn
		in.MessageID, in.Text = fmt.Sprint("m", i), text
		d.Dispatch(in)
	}
	mustShutdown(t, d)
	var texts []string
	for _, s := range h.out.sent() {
		texts = append(texts, s.Text)
	}
	if len(texts) != 3 || texts[0] != GaveUpText || texts[1] != "answer to flaky" || texts[2] != "answer to next" {
		t.Errorf("sent %q; want the give-up apology, then both answers", texts)
	}
	if !strings.Contains(dead["m0"], "model client bug") || len(dead) != 1 {
		t.Errorf("dead letters %q; want m0's with the panic", dead)
	}
	if !errors.Is(after["m0"], ErrGaveUp) || after["m1"] != nil || after["m2"] != nil {
		t.Errorf("AfterTurn got %v", after)
	}
}

// A message whose turns already failed to finish twice before (the
// process died twice mid-turn: the attempts come from the journal) is not
// run a third time.
func TestFaultTableReplayedPoisonIsNotRunAgain(t *testing.T) {
	p := answer("should not run", "")
	h := newHarness(t, p, nil)
	var reason string
	d := h.agent.NewDispatcher(DispatcherOptions{
		Attempt:    func(picoclaw.Inbound) (int, error) { return 3, nil },
		DeadLetter: func(_ picoclaw.Inbound, r string) error { reason = r; return nil },
	})
	d.Dispatch(testIn)
	mustShutdown(t, d)
	if len(p.requests()) != 0 {
		t.Error("the model was asked again")
	}
	if sent := h.out.sent(); len(sent) != 1 || sent[0].Text != GaveUpText {
		t.Errorf("sent %+v, want the give-up apology", sent)
	}
	if !strings.Contains(reason, "2 earlier turns did not finish") {
		t.Errorf("reason %q", reason)
	}
}

// Reasoning gathered over many tool rounds is capped as a whole too, so
// one turn never sends more than about two answers' worth of parts.
func TestFaultTableReasoningCappedAcrossRounds(t *testing.T) {
	long := strings.Repeat("想", 3000) // 9,000 bytes a round
	tools := fakeTools{"t": func(context.Context, json.RawMessage) (string, error) { return "ok", nil }}
	p := &fakeProvider{reply: func(_ context.Context, call int, _ picoclaw.Request) (*picoclaw.Response, error) {
		if call < 5 {
			r := callTools(long, "t")
			return r, nil
		}
		return &picoclaw.Response{Content: "done", Reasoning: long}, nil
	}}
	h := newHarness(t, p, func(c *Config) { c.Tools = tools; c.MaxAnswerBytes = 16 << 10 })
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatal(err)
	}
	sent := h.out.sent()
	if len(sent) != 2 || sent[1].Kind != picoclaw.OutReasoning {
		t.Fatalf("sent %d messages, want the answer and the reasoning", len(sent))
	}
	if r := sent[1].Text; len(r) > 16<<10+len(TruncatedMark) || !strings.HasSuffix(r, TruncatedMark) {
		t.Errorf("reasoning is %d bytes, want at most 16 KiB ending in the mark", len(r))
	}
}
