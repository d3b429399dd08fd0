package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"picoclaw"
)

// fakeProvider answers with reply(call number from 0, request).
type fakeProvider struct {
	reply func(ctx context.Context, call int, req picoclaw.Request) (*picoclaw.Response, error)

	mu   sync.Mutex
	reqs []picoclaw.Request
}

func (p *fakeProvider) Complete(ctx context.Context, req picoclaw.Request, _ func(picoclaw.Delta)) (*picoclaw.Response, error) {
	p.mu.Lock()
	n := len(p.reqs)
	req.Messages = slices.Clone(req.Messages)
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	return p.reply(ctx, n, req)
}

func (p *fakeProvider) requests() []picoclaw.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.reqs)
}

// answer returns a provider that always answers content and reasoning.
func answer(content, reasoning string) *fakeProvider {
	return &fakeProvider{reply: func(context.Context, int, picoclaw.Request) (*picoclaw.Response, error) {
		return &picoclaw.Response{Content: content, Reasoning: reasoning, FinishReason: "stop"}, nil
	}}
}

// memStore is an in-memory SessionStore and Compactor whose Append and
// Replace can be made to fail.
type memStore struct {
	mu         sync.Mutex
	msgs       map[picoclaw.SessionKey][]picoclaw.Message
	appendErr  error
	replaceErr error
	replaced   int
}

func newMemStore() *memStore { return &memStore{msgs: map[picoclaw.SessionKey][]picoclaw.Message{}} }

func (s *memStore) Load(_ context.Context, key picoclaw.SessionKey) ([]picoclaw.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs[key]), nil
}

func (s *memStore) Append(_ context.Context, key picoclaw.SessionKey, msgs ...picoclaw.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.appendErr != nil {
		return s.appendErr
	}
	for _, m := range msgs {
		m.Images = nil // not persisted, like session.Store
		s.msgs[key] = append(s.msgs[key], m)
	}
	return nil
}

func (s *memStore) Replace(_ context.Context, key picoclaw.SessionKey, msgs []picoclaw.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replaceErr != nil {
		return s.replaceErr
	}
	s.replaced++
	s.msgs[key] = slices.Clone(msgs)
	return nil
}

// history returns key's stored messages.
func (s *memStore) history(key picoclaw.SessionKey) []picoclaw.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs[key])
}

func (s *memStore) Reset(_ context.Context, key picoclaw.SessionKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.msgs, key)
	return nil
}

// outbox records what an Agent sends, and also passes it to notify when
// that is set.
type outbox struct {
	mu     sync.Mutex
	out    []picoclaw.Outbound
	err    error
	notify chan picoclaw.Outbound
}

func (o *outbox) send(_ context.Context, out picoclaw.Outbound) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.out = append(o.out, out)
	if o.notify != nil {
		o.notify <- out
	}
	return o.err
}

// fakeTools is a ToolRunner of functions.
type fakeTools map[string]func(ctx context.Context, args json.RawMessage) (string, error)

func (f fakeTools) Defs() []picoclaw.ToolDef {
	var defs []picoclaw.ToolDef
	for _, name := range slices.Sorted(maps.Keys(f)) {
		defs = append(defs, picoclaw.ToolDef{Name: name, Description: name, Parameters: json.RawMessage(`{"type":"object"}`)})
	}
	return defs
}

func (f fakeTools) Call(ctx context.Context, name string, args json.RawMessage) (string, error) {
	fn, ok := f[name]
	if !ok {
		return "", fmt.Errorf("unknown tool %q", name)
	}
	return fn(ctx, args)
}

// toolNames returns the names of defs.
func toolNames(defs []picoclaw.ToolDef) []string {
	var names []string
	for _, d := range defs {
		names = append(names, d.Name)
	}
	return names
}

// brief summarises a history for comparisons: "role:content" or, for
// tool-call messages, "role:calls:id,id" and, for results,
// "tool:id=content".
func brief(msgs []picoclaw.Message) []string {
	var out []string
	for _, m := range msgs {
		switch {
		case len(m.ToolCalls) > 0:
			var ids []string
			for _, c := range m.ToolCalls {
				ids = append(ids, c.ID)
			}
			out = append(out, string(m.Role)+":calls:"+strings.Join(ids, ","))
		case m.Role == picoclaw.RoleTool:
			out = append(out, "tool:"+m.ToolCallID+"="+m.Content)
		default:
			out = append(out, string(m.Role)+":"+m.Content)
		}
	}
	return out
}

// consistent reports whether every tool call in h has a result right
// after its message, and no result lacks a call.
func consistent(h []picoclaw.Message) bool {
	for i := 0; i < len(h); i++ {
		if h[i].Role == picoclaw.RoleTool {
			return false // a result not right after its call
		}
		for _, c := range h[i].ToolCalls {
			i++
			if i >= len(h) || h[i].Role != picoclaw.RoleTool || h[i].ToolCallID != c.ID {
				return false
			}
		}
	}
	return true
}

func (o *outbox) sent() []picoclaw.Outbound {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.out)
}

// logBuffer collects JSON log records.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *logBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var recs []map[string]any
	for line := range strings.Lines(l.b.String()) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// errorRecords returns the ERROR-level records.
func (l *logBuffer) errorRecords(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range l.records(t) {
		if r["level"] == "ERROR" {
			out = append(out, r)
		}
	}
	return out
}
