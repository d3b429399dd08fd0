package session

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"picoclaw"
)

// appendText appends one user message and fails the test on error.
func appendText(t *testing.T, s *Store, key picoclaw.SessionKey, text string) {
	t.Helper()
	if err := s.Append(context.Background(), key, picoclaw.Message{Role: picoclaw.RoleUser, Content: text}); err != nil {
		t.Fatalf("Append %s %q: %v", key, text, err)
	}
}

// historyTexts lists the user texts of the history file at path, in order.
func historyTexts(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for line := range strings.Lines(string(data)) {
		_, rest, _ := strings.Cut(line, `"content":"`)
		text, _, _ := strings.Cut(rest, `"`)
		texts = append(texts, text)
	}
	return strings.Join(texts, ",")
}

// An append goes to the file the history's path names now, whatever
// happened to the file the previous append kept open: moved away (and a
// new one made), deleted, replaced by Replace or archived by Reset.
func TestAppendFollowsThePath(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	t.Cleanup(func() { s.Close() })
	key := picoclaw.SessionKey("dingtalk:direct:u1")
	path, err := s.path(key)
	if err != nil {
		t.Fatal(err)
	}

	appendText(t, s, key, "a")
	moved := filepath.Join(dir, "moved.jsonl")
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(`{"role":"user","content":"x"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	appendText(t, s, key, "b")
	if got, old := historyTexts(t, path), historyTexts(t, moved); got != "x,b" || old != "a" {
		t.Errorf("after a move and a new file: history %q, moved file %q; want x,b, a", got, old)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	appendText(t, s, key, "c")
	if got := historyTexts(t, path); got != "c" {
		t.Errorf("after a delete: history %q, want c", got)
	}

	if err := s.Replace(ctx, key, []picoclaw.Message{{Role: picoclaw.RoleUser, Content: "r"}}); err != nil {
		t.Fatal(err)
	}
	appendText(t, s, key, "d")
	if got := historyTexts(t, path); got != "r,d" {
		t.Errorf("after Replace: history %q, want r,d", got)
	}

	if err := s.Reset(ctx, key); err != nil {
		t.Fatal(err)
	}
	appendText(t, s, key, "e")
	if got := historyTexts(t, path); got != "e" {
		t.Errorf("after Reset: history %q, want e", got)
	}
	msgs, err := s.Load(ctx, key)
	if err != nil || len(msgs) != 1 || msgs[0].Content != "e" {
		t.Errorf("Load = %v, %v; want the one message e", msgs, err)
	}
}

// More chats than files kept open: every append still lands in its own
// chat's history, in order, and Close leaves the Store usable.
func TestAppendManyChatsFewOpenFiles(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	s.files = newOpenFiles(3)
	const chats, rounds = 7, 3
	key := func(i int) picoclaw.SessionKey { return picoclaw.SessionKey(fmt.Sprintf("dingtalk:direct:u%d", i)) }
	for r := range rounds {
		for i := range chats {
			appendText(t, s, key(i), fmt.Sprintf("%d-%d", i, r))
		}
		if r == 1 {
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
	}
	if n := s.files.lru.Len(); n != 3 {
		t.Errorf("files kept open = %d, want the bound, 3", n)
	}
	for i := range chats {
		path, _ := s.path(key(i))
		if got, want := historyTexts(t, path), fmt.Sprintf("%d-0,%d-1,%d-2", i, i, i); got != want {
			t.Errorf("chat %d: history %q, want %q", i, got, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := s.files.lru.Len(); n != 0 {
		t.Errorf("files kept open after Close = %d, want 0", n)
	}
}
