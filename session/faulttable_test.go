package session_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"picoclaw"
	"picoclaw/agent"
	"picoclaw/internal/testutil"
	"picoclaw/session"
)

type answerer struct{}

func (answerer) Complete(_ context.Context, req picoclaw.Request, _ func(picoclaw.Delta)) (*picoclaw.Response, error) {
	return &picoclaw.Response{Content: "answer to " + req.Messages[len(req.Messages)-1].Content}, nil
}

// When the disk fills up (ENOSPC) in the middle of a session append, the
// user still gets the answer, the failure is logged, and once space is
// back the chat goes on with a readable history: the torn write is
// skipped, nothing after it is lost.
func TestFaultTableSessionDiskFull(t *testing.T) {
	store, err := session.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sent []string
	logs := &testutil.SyncBuffer{}
	a, err := agent.New(agent.Config{
		Provider: answerer{},
		Sessions: store,
		Send: func(_ context.Context, out picoclaw.Outbound) error {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, out.Text)
			return nil
		},
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	in := picoclaw.Inbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "u1"}, MessageID: "m", Text: "one"}
	turn := func(text string) {
		t.Helper()
		in.Text = text
		if err := a.Turn(context.Background(), in); err != nil {
			t.Fatalf("Turn(%s): %v", text, err)
		}
	}
	turn("one")
	restore := session.FailWrites(store, 10, syscall.ENOSPC)
	turn("two") // the disk is full
	restore()
	turn("three")

	if want := []string{"answer to one", "answer to two", "answer to three"}; strings.Join(sent, "|") != strings.Join(want, "|") {
		t.Errorf("sent %q, want %q", sent, want)
	}
	if !strings.Contains(logs.String(), "session write failed") || !strings.Contains(logs.String(), "no space left on device") {
		t.Errorf("logs do not report the full disk:\n%s", logs)
	}
	hist, err := store.Load(context.Background(), in.SessionKey())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range hist {
		got = append(got, m.Content)
	}
	if want := "one|answer to one|three|answer to three"; strings.Join(got, "|") != want {
		t.Errorf("history %q, want %q (the exchange lost to the full disk skipped, nothing else)", got, want)
	}
}

// A device or FIFO in a session file's place fails Load and Append with
// an error instead of reading zeros without end or blocking.
func TestFaultTableSessionFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	store, err := session.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	key := picoclaw.SessionKey("dingtalk:direct:u1")
	ctx := context.Background()
	if err := store.Append(ctx, key, picoclaw.Message{Role: picoclaw.RoleUser, Content: "hi"}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("session files %q", files)
	}
	for _, target := range []string{"/dev/zero", "fifo"} {
		os.Remove(files[0])
		if target == "fifo" {
			if err := syscall.Mkfifo(files[0], 0o600); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Symlink(target, files[0]); err != nil {
			t.Fatal(err)
		}
		store, _ := session.Open(dir, nil) // no cached history
		if _, err := store.Load(ctx, key); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: Load = %v, want not a regular file", target, err)
		}
		if err := store.Append(ctx, key, picoclaw.Message{Role: picoclaw.RoleUser, Content: "x"}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: Append = %v, want not a regular file", target, err)
		}
	}
}
