package session

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"picoclaw"
)

func TestReplace(t *testing.T) {
	key := picoclaw.SessionKey("dingtalk:group:cidAbC+/x==")
	summary := picoclaw.Message{Role: picoclaw.RoleSystem, Content: "summary 摘要", Time: t0}
	tests := []struct {
		name   string
		before []picoclaw.Message // nil: no history file yet
		with   []picoclaw.Message
	}{
		{"shorter history", sampleMessages(), []picoclaw.Message{summary, sampleMessages()[0]}},
		{"no history yet", nil, []picoclaw.Message{summary}},
		{"empty", sampleMessages(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s := mustOpen(t, dir, nil)
			if tt.before != nil {
				if err := s.Append(ctx, key, tt.before...); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Replace(ctx, key, tt.with); err != nil {
				t.Fatalf("Replace: %v", err)
			}
			got, err := mustOpen(t, dir, nil).Load(ctx, key) // as after a restart
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 || len(tt.with) != 0 {
				if !reflect.DeepEqual(got, tt.with) {
					t.Errorf("Load after Replace = %+v\nwant %+v", got, tt.with)
				}
			}
			// Appends continue the replaced history.
			extra := picoclaw.Message{Role: picoclaw.RoleUser, Content: "next"}
			if err := s.Append(ctx, key, extra); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Load(ctx, key); len(got) != len(tt.with)+1 || got[len(got)-1].Content != "next" {
				t.Errorf("Load after Replace+Append = %+v", got)
			}
			// No temporary file is left behind, and Keys sees one session.
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp") {
					t.Errorf("temporary file %s left behind", e.Name())
				}
			}
			if keys, err := s.Keys(); err != nil || !reflect.DeepEqual(keys, []picoclaw.SessionKey{key}) {
				t.Errorf("Keys = %q, %v", keys, err)
			}
			fi, err := os.Stat(filepath.Join(dir, "dingtalk~group~cidAbC%2B%2Fx%3D%3D.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("history file mode = %v, want 0600", perm)
			}
		})
	}
}

func TestReplaceFailureKeepsHistory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	key := picoclaw.SessionKey("dingtalk:direct:0123")
	if err := s.Append(ctx, key, sampleMessages()...); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Replace(cancelled, key, nil); err == nil {
		t.Error("Replace with a cancelled context: want error")
	}
	// A read-only directory makes the temporary file impossible.
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
	if os.Geteuid() != 0 { // root ignores directory permissions
		if err := s.Replace(ctx, key, nil); err == nil {
			t.Error("Replace in a read-only directory: want error")
		}
	}
	got, err := s.Load(ctx, key)
	if err != nil || !reflect.DeepEqual(got, sampleMessages()) {
		t.Errorf("Load = %+v, %v; want the history untouched", got, err)
	}
}
