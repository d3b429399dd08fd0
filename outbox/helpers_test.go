package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"picoclaw"
)

// fakeService is a deliverer: each answer has Parts() parts (one per
// line of its text) and fail decides, per call, whether a part is refused.
type fakeService struct {
	mu        sync.Mutex
	delivered []string // "text#part" of every accepted part, in order
	calls     int
	fail      func(out picoclaw.Outbound, part int) error
	block     chan struct{} // when set, an attempt waits on it (or ctx) after part 0
	blockOnly string        // … only for this chat id, if set
	started   chan struct{} // when set, receives once an attempt blocks
}

func parts(text string) int {
	n := 1
	for _, c := range text {
		if c == '\n' {
			n++
		}
	}
	return n
}

func (s *fakeService) deliver(ctx context.Context, out picoclaw.Outbound, from int, accepted func(int, bool)) error {
	for i := from; i < parts(out.Text); i++ {
		s.mu.Lock()
		s.calls++
		fail := s.fail
		s.mu.Unlock()
		if fail != nil {
			if err := fail(out, i); err != nil {
				return fmt.Errorf("part %d: %w", i+1, err)
			}
		}
		s.mu.Lock()
		s.delivered = append(s.delivered, fmt.Sprintf("%s#%d", out.Text, i))
		s.mu.Unlock()
		accepted(i, i == parts(out.Text)-1)
		if s.block != nil && i == 0 && (s.blockOnly == "" || out.Chat.ID == s.blockOnly) {
			if s.started != nil {
				s.started <- struct{}{}
			}
			select {
			case <-s.block:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

func (s *fakeService) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.delivered...)
}

func (s *fakeService) count(entry string) int {
	n := 0
	for _, d := range s.got() {
		if d == entry {
			n++
		}
	}
	return n
}

func answer(chat, text string) picoclaw.Outbound {
	return picoclaw.Outbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: chat}, Text: text, ReplyTo: "msg-" + text}
}

func openT(t *testing.T, dir string, svc *fakeService, edit ...func(*Options)) *Outbox {
	t.Helper()
	opts := Options{Deliver: svc.deliver, Logger: slog.New(slog.DiscardHandler)}
	for _, e := range edit {
		e(&opts)
	}
	o, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	return o
}

func put(t *testing.T, o *Outbox, out picoclaw.Outbound) {
	t.Helper()
	if err := o.Put(context.Background(), out); err != nil {
		t.Fatal(err)
	}
}

func drain(t *testing.T, o *Outbox) {
	t.Helper()
	if err := o.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// waitPending waits until exactly n answers are pending.
func waitPending(t *testing.T, o *Outbox, n int) {
	t.Helper()
	for {
		o.mu.Lock()
		got, ch := len(o.entries), o.changed
		o.mu.Unlock()
		if got == n {
			return
		}
		select {
		case <-ch:
		case <-t.Context().Done():
			t.Fatalf("still %d pending, want %d", got, n)
		}
	}
}
