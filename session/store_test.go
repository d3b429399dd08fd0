package session

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw"

	"picoclaw/internal/testutil"
)

// mustOpen opens a Store in a fresh temp dir, logging into buf if non-nil.
func mustOpen(tb testing.TB, dir string, buf *testutil.SyncBuffer) *Store {
	tb.Helper()
	var logger *slog.Logger
	if buf != nil {
		logger = slog.New(slog.NewTextHandler(buf, nil))
	}
	s, err := Open(dir, logger)
	if err != nil {
		tb.Fatalf("Open(%q): %v", dir, err)
	}
	return s
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func sampleMessages() []picoclaw.Message {
	return []picoclaw.Message{
		{Role: picoclaw.RoleUser, Content: "你好 <b>&", Time: t0},
		{Role: picoclaw.RoleAssistant, Content: "hi\nthere", Reasoning: "think", Time: t0.Add(time.Second),
			ToolCalls: []picoclaw.ToolCall{{ID: "c1", Name: "read", Arguments: json.RawMessage(`{"path":"a"}`)}}},
		{Role: picoclaw.RoleTool, Content: "file body", ToolCallID: "c1", Name: "read"},
	}
}

func TestOpenCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws", "sessions")
	mustOpen(t, dir, nil)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("dir mode = %v, want 0700", got)
	}
}

func TestRoundTrip(t *testing.T) {
	keys := []picoclaw.SessionKey{
		"dingtalk:direct:0123",
		"dingtalk:group:cidAbC+/x==",
		"dingtalk:group:cidabc+/x==", // differs only in case
		"dingtalk:group:a%2Fb~c",
	}
	ctx := context.Background()
	s := mustOpen(t, t.TempDir(), nil)
	for i, key := range keys {
		want := sampleMessages()
		want[0].Content = fmt.Sprintf("message %d", i)
		if err := s.Append(ctx, key, want[:1]...); err != nil {
			t.Fatalf("Append(%q): %v", key, err)
		}
		if err := s.Append(ctx, key, want[1:]...); err != nil {
			t.Fatalf("Append(%q): %v", key, err)
		}
	}
	for i, key := range keys {
		t.Run(string(key), func(t *testing.T) {
			want := sampleMessages()
			want[0].Content = fmt.Sprintf("message %d", i)
			got, err := s.Load(ctx, key)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load = %+v\nwant %+v", got, want)
			}
		})
	}
	gotKeys, err := s.Keys()
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []picoclaw.SessionKey{keys[0], keys[3], keys[1], keys[2]}
	if !reflect.DeepEqual(gotKeys, wantKeys) {
		t.Errorf("Keys = %q, want %q", gotKeys, wantKeys)
	}
}

func TestLoadMissingIsEmpty(t *testing.T) {
	s := mustOpen(t, t.TempDir(), nil)
	got, err := s.Load(context.Background(), "dingtalk:direct:nobody")
	if err != nil || len(got) != 0 {
		t.Errorf("Load = %v, %v; want empty, nil", got, err)
	}
}

func TestReopenKeepsHistory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := picoclaw.SessionKey("dingtalk:group:cidAbC+/x==")
	first := mustOpen(t, dir, nil)
	if err := first.Append(ctx, key, sampleMessages()...); err != nil {
		t.Fatal(err)
	}
	second := mustOpen(t, dir, nil) // a restart
	if err := second.Append(ctx, key, picoclaw.Message{Role: picoclaw.RoleUser, Content: "again"}); err != nil {
		t.Fatal(err)
	}
	got, err := mustOpen(t, dir, nil).Load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	want := append(sampleMessages(), picoclaw.Message{Role: picoclaw.RoleUser, Content: "again"})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after reopen Load = %+v\nwant %+v", got, want)
	}
}

func TestDamagedFile(t *testing.T) {
	good := `{"role":"user","content":"one"}` + "\n"
	tests := []struct {
		name     string
		content  string
		want     []string // contents loaded
		wantLog  string
		appendOK bool // an Append after the damage must load too
	}{
		{"torn last line", good + `{"role":"assis`, []string{"one"}, "torn last line", true},
		{"corrupt middle line", good + "garbage\n" + good, []string{"one", "one"}, "corrupt line", true},
		{"blank lines", "\n" + good + "\n\n", []string{"one"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			var logs testutil.SyncBuffer
			s := mustOpen(t, dir, &logs)
			key := picoclaw.SessionKey("dingtalk:direct:u1")
			path, err := s.path(key)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := s.Load(ctx, key)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c := contents(got); !reflect.DeepEqual(c, tt.want) {
				t.Errorf("Load contents = %q, want %q", c, tt.want)
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log %q lacks %q", logs.String(), tt.wantLog)
			}
			if err := s.Append(ctx, key, picoclaw.Message{Role: picoclaw.RoleUser, Content: "after"}); err != nil {
				t.Fatal(err)
			}
			got, err = s.Load(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			want := append(tt.want, "after")
			if c := contents(got); !reflect.DeepEqual(c, want) {
				t.Errorf("after Append, Load contents = %q, want %q", c, want)
			}
		})
	}
}

func contents(msgs []picoclaw.Message) []string {
	out := []string{}
	for _, m := range msgs {
		out = append(out, m.Content)
	}
	return out
}

func TestConcurrentAppends(t *testing.T) {
	const writers, perWriter = 8, 25
	tests := []struct {
		name string
		key  func(w int) picoclaw.SessionKey
	}{
		{"same key", func(int) picoclaw.SessionKey { return "dingtalk:group:shared" }},
		{"different keys", func(w int) picoclaw.SessionKey { return picoclaw.SessionKey(fmt.Sprintf("dingtalk:direct:u%d", w)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, t.TempDir(), nil)
			var wg sync.WaitGroup
			for w := range writers {
				wg.Go(func() {
					for i := range perWriter {
						m := picoclaw.Message{Role: picoclaw.RoleUser, Content: fmt.Sprintf("%d/%d", w, i)}
						if err := s.Append(ctx, tt.key(w), m, m); err != nil {
							t.Errorf("Append: %v", err)
						}
					}
				})
			}
			wg.Wait()
			// Each writer's messages arrive in its order, and each
			// Append's pair stays together.
			next := map[string]int{}
			seen := 0
			for w := range writers {
				msgs, err := s.Load(ctx, tt.key(w))
				if err != nil {
					t.Fatal(err)
				}
				if tt.name == "same key" && w > 0 {
					break
				}
				for i := 0; i < len(msgs); i += 2 {
					if msgs[i].Content != msgs[i+1].Content {
						t.Fatalf("pair split at %d: %q, %q", i, msgs[i].Content, msgs[i+1].Content)
					}
					var ww, n int
					fmt.Sscanf(msgs[i].Content, "%d/%d", &ww, &n)
					if n != next[fmt.Sprint(ww)] {
						t.Fatalf("writer %d: got message %d, want %d", ww, n, next[fmt.Sprint(ww)])
					}
					next[fmt.Sprint(ww)]++
					seen++
				}
			}
			if seen != writers*perWriter {
				t.Errorf("loaded %d appends, want %d", seen, writers*perWriter)
			}
		})
	}
}

func TestResetArchives(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	s.now = func() time.Time { return time.Unix(1700000000, 0) }
	key := picoclaw.SessionKey("dingtalk:group:cidAbC+/x==")

	if err := s.Reset(ctx, key); err != nil {
		t.Fatalf("Reset of missing session: %v", err)
	}
	for round := range 2 {
		if err := s.Append(ctx, key, picoclaw.Message{Role: picoclaw.RoleUser, Content: fmt.Sprint(round)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Reset(ctx, key); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		got, err := s.Load(ctx, key)
		if err != nil || len(got) != 0 {
			t.Fatalf("Load after Reset = %v, %v; want empty", got, err)
		}
	}
	// Two resets in the same second keep both archives.
	for i, name := range []string{
		"dingtalk~group~cidAbC%2B%2Fx%3D%3D.1700000000.jsonl.bak",
		"dingtalk~group~cidAbC%2B%2Fx%3D%3D.1700000000-1.jsonl.bak",
	} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("archive: %v", err)
		}
		if want := fmt.Sprintf(`"content":"%d"`, i); !strings.Contains(string(data), want) {
			t.Errorf("archive %s = %s, want it to hold %s", name, data, want)
		}
	}
	keys, err := s.Keys()
	if err != nil || len(keys) != 0 {
		t.Errorf("Keys after Reset = %q, %v; want none (archives are not sessions)", keys, err)
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := mustOpen(t, t.TempDir(), nil)
	key := picoclaw.SessionKey("dingtalk:direct:u1")
	if err := s.Append(ctx, key, picoclaw.Message{Role: picoclaw.RoleUser}); err == nil {
		t.Error("Append with cancelled ctx: want error")
	}
	if _, err := s.Load(ctx, key); err == nil {
		t.Error("Load with cancelled ctx: want error")
	}
	if err := s.Reset(ctx, key); err == nil {
		t.Error("Reset with cancelled ctx: want error")
	}
}

func TestAppendErrorIsReturned(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	key := picoclaw.SessionKey("dingtalk:direct:u1")
	path, _ := s.path(key)
	// A directory where the file should be makes the open fail.
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	err := s.Append(context.Background(), key, picoclaw.Message{Role: picoclaw.RoleUser})
	if err == nil || !strings.Contains(err.Error(), "session: append") {
		t.Errorf("Append = %v, want a wrapped error", err)
	}
}
