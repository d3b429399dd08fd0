package session

import (
	"fmt"
	"sync"
	"testing"

	"picoclaw"
)

// A key's lock lives only while it is in use: a gateway that has seen
// thousands of chats keeps no lock for the idle ones.
func TestStoreLocksShrinkWithIdleSessions(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		key := picoclaw.SessionKey(fmt.Sprintf("dingtalk:direct:user%d", i%10))
		wg.Go(func() {
			if err := s.Append(t.Context(), key, picoclaw.Message{Role: picoclaw.RoleUser, Content: "hi"}); err != nil {
				t.Error(err)
			}
			if _, err := s.Load(t.Context(), key); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := s.Reset(t.Context(), "dingtalk:direct:user0"); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	n := len(s.locks)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d key locks kept after every session went idle, want 0", n)
	}
	for i := 1; i < 10; i++ {
		msgs, err := s.Load(t.Context(), picoclaw.SessionKey(fmt.Sprintf("dingtalk:direct:user%d", i)))
		if err != nil || len(msgs) != 5 {
			t.Errorf("user%d: %d messages (%v), want 5: appends to one key must not interleave or be lost", i, len(msgs), err)
		}
	}
}
