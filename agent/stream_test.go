package agent

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"picoclaw"
)

// recordingSink records what a turn streamed, as "delta:" and "round:" lines.
type recordingSink struct {
	mu     sync.Mutex
	events []string
}

func (s *recordingSink) Delta(d picoclaw.Delta) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, "delta:"+d.Content+"|"+d.Reasoning)
}

func (s *recordingSink) Round(status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, "round:"+status)
}

// streamingProvider streams each reply's content in two pieces.
func streamingProvider(replies ...*picoclaw.Response) *streamCalls {
	return &streamCalls{replies: replies}
}

type streamCalls struct {
	mu      sync.Mutex
	n       int
	replies []*picoclaw.Response
}

func (p *streamCalls) Complete(_ context.Context, _ picoclaw.Request, onDelta func(picoclaw.Delta)) (*picoclaw.Response, error) {
	p.mu.Lock()
	r := p.replies[min(p.n, len(p.replies)-1)]
	p.n++
	p.mu.Unlock()
	if onDelta != nil && r.Content != "" {
		half := len(r.Content) / 2
		onDelta(picoclaw.Delta{Content: r.Content[:half], Reasoning: r.Reasoning})
		onDelta(picoclaw.Delta{Content: r.Content[half:]})
	}
	return r, nil
}

// A turn run with a stream sink streams every model reply, marks a tool
// round with its tools' names, and still sends the whole answer.
func TestTurnStreamsToSink(t *testing.T) {
	p := streamingProvider(
		&picoclaw.Response{Content: "let me look", ToolCalls: []picoclaw.ToolCall{{ID: "1", Name: "lookup", Arguments: json.RawMessage(`{}`)}}},
		&picoclaw.Response{Content: "the answer", Reasoning: "hmm", FinishReason: "stop"},
	)
	h := newHarness(t, p, func(c *Config) {
		c.Tools = fakeTools{"lookup": func(context.Context, json.RawMessage) (string, error) { return "found", nil }}
	})
	sink := &recordingSink{}
	if err := h.agent.Turn(WithStreamSink(context.Background(), sink), testIn); err != nil {
		t.Fatal(err)
	}
	want := []string{"delta:let m|", "delta:e look|", "round:🔧 lookup", "delta:the a|hmm", "delta:nswer|"}
	if !slices.Equal(sink.events, want) {
		t.Errorf("streamed %q, want %q", sink.events, want)
	}
	if sent := h.out.sent(); len(sent) == 0 || sent[0].Text != "the answer" || !sent[0].Streamed {
		t.Errorf("sent %+v", sent)
	}
}

// Without a sink nothing changes (and nothing panics).
func TestTurnWithoutSink(t *testing.T) {
	h := newHarness(t, streamingProvider(&picoclaw.Response{Content: "plain", FinishReason: "stop"}), nil)
	if err := h.agent.Turn(WithStreamSink(context.Background(), nil), testIn); err != nil {
		t.Fatal(err)
	}
	if sent := h.out.sent(); len(sent) != 1 || sent[0].Text != "plain" || sent[0].Streamed {
		t.Errorf("sent %+v", sent)
	}
}
