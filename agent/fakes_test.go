package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
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

// memStore is an in-memory SessionStore whose Append can be made to fail.
type memStore struct {
	mu        sync.Mutex
	msgs      map[picoclaw.SessionKey][]picoclaw.Message
	appendErr error
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

func (s *memStore) Reset(_ context.Context, key picoclaw.SessionKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.msgs, key)
	return nil
}

// outbox records what an Agent sends.
type outbox struct {
	mu  sync.Mutex
	out []picoclaw.Outbound
	err error
}

func (o *outbox) send(_ context.Context, out picoclaw.Outbound) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.out = append(o.out, out)
	return o.err
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
