package tools

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"picoclaw"
)

type chatKey struct{}

// privateEnv is a workspace with a data dir configured, wrongly, inside
// it, two chats' media folders there, and tools that know the chat of a
// call from its ctx.
type privateEnv struct {
	ws, data string
	tools    map[string]picoclaw.Tool
}

func newPrivateEnv(t *testing.T, restrict bool) *privateEnv {
	t.Helper()
	ws := t.TempDir()
	e := &privateEnv{ws: ws, data: filepath.Join(ws, "data"), tools: map[string]picoclaw.Tool{}}
	writeFile(t, filepath.Join(e.data, "sessions", "a.jsonl"), "A's history")
	writeFile(t, filepath.Join(e.data, "media", "A", "d", "a.txt"), "A's file")
	writeFile(t, filepath.Join(e.data, "media", "B", "d", "b.txt"), "B's file")
	for _, tool := range NewFSToolsWith(FSOptions{Workspace: ws, Restrict: restrict, Private: []string{e.data},
		ChatMedia: func(ctx context.Context) (string, bool) {
			chat, ok := ctx.Value(chatKey{}).(string)
			return filepath.Join(e.data, "media", chat), ok
		}}) {
		e.tools[tool.Def().Name] = tool
	}
	return e
}

func (e *privateEnv) call(t *testing.T, chat, tool string, args map[string]string) (string, error) {
	t.Helper()
	raw, _ := json.Marshal(args)
	ctx := context.Background()
	if chat != "" {
		ctx = context.WithValue(ctx, chatKey{}, chat)
	}
	return e.tools[tool].Call(ctx, raw)
}

func TestSecurityPrivatePathsRefusedEvenInsideWorkspace(t *testing.T) {
	for _, restrict := range []bool{true, false} {
		e := newPrivateEnv(t, restrict)
		for _, tc := range []struct{ tool, path string }{
			{"read_file", "data/sessions/a.jsonl"},
			{"read_file", filepath.Join(e.data, "sessions", "a.jsonl")},
			{"read_file", "data/media/A/d/a.txt"},
			{"read_file", filepath.Join(e.data, "media", "B", "d", "b.txt")},
			{"list_dir", "data"},
			{"write_file", "data/inbox/journal.jsonl"},
			{"append_file", "./data/../data/sessions/a.jsonl"},
		} {
			out, err := e.call(t, "C", tc.tool, map[string]string{"path": tc.path, "content": "x"})
			if err == nil || !strings.Contains(err.Error(), "private data") {
				t.Errorf("restrict=%v %s %s = %q, %v; want a private-data refusal", restrict, tc.tool, tc.path, out, err)
			}
			if strings.Contains(out, "history") || strings.Contains(out, "file") {
				t.Errorf("restrict=%v %s %s leaked %q", restrict, tc.tool, tc.path, out)
			}
		}
	}
}

func TestSecurityChatMediaOnlyForItsChat(t *testing.T) {
	e := newPrivateEnv(t, true)
	got, err := e.call(t, "A", "read_file", map[string]string{"path": "media/d/a.txt"})
	if err != nil || !strings.Contains(got, "A's file") {
		t.Errorf("chat A reading media/d/a.txt = %q, %v; want its file", got, err)
	}
	got, err = e.call(t, "A", "read_file", map[string]string{"path": filepath.Join(e.data, "media", "A", "d", "a.txt")})
	if err != nil || !strings.Contains(got, "A's file") {
		t.Errorf("chat A reading its file by absolute path = %q, %v", got, err)
	}
	if got, err := e.call(t, "A", "list_dir", map[string]string{"path": "media"}); err != nil || !strings.Contains(got, "d/") {
		t.Errorf("chat A listing media = %q, %v", got, err)
	}
	for _, p := range []string{"media/d/b.txt", "media/../B/d/b.txt", "media/../../data/media/B/d/b.txt", filepath.Join(e.data, "media", "B", "d", "b.txt")} {
		got, err := e.call(t, "A", "read_file", map[string]string{"path": p})
		if err == nil || strings.Contains(got, "B's file") {
			t.Errorf("chat A reading %s = %q, %v; want a refusal", p, got, err)
		}
	}
	for _, tool := range []string{"write_file", "append_file", "edit_file"} {
		_, err := e.call(t, "A", tool, map[string]string{"path": "media/d/a.txt", "content": "x", "old_text": "A", "new_text": "Z"})
		if err == nil || !strings.Contains(err.Error(), "read-only") {
			t.Errorf("%s into the chat's media = %v, want a read-only refusal", tool, err)
		}
	}
	// Without a chat (the CLI), media/ is an ordinary workspace path.
	if _, err := e.call(t, "", "write_file", map[string]string{"path": "media/note.txt", "content": "x"}); err != nil {
		t.Errorf("write media/note.txt with no chat: %v", err)
	}
}

// Even unrestricted, the process's own /proc entry stays closed when it
// is listed as private, by any of its names.
func TestSecurityProcSelfPrivate(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("no /proc on this system:", err)
	}
	tools := NewFSToolsWith(FSOptions{Workspace: t.TempDir(), Restrict: false, Private: []string{"/proc/self", "/proc/thread-self"}})
	var read picoclaw.Tool
	for _, tool := range tools {
		if tool.Def().Name == "read_file" {
			read = tool
		}
	}
	for _, p := range []string{"/proc/self/environ", "/proc/" + strconv.Itoa(os.Getpid()) + "/environ", "/proc/thread-self/environ", "/proc/self/task/../environ"} {
		raw, _ := json.Marshal(map[string]string{"path": p})
		out, err := read.Call(context.Background(), raw)
		if err == nil || !strings.Contains(err.Error(), "private data") || strings.Contains(out, "PATH=") {
			t.Errorf("read_file %s = %.60q, %v; want a private-data refusal", p, out, err)
		}
	}
}

// A file opened after a symlink was swapped into its path is caught by
// the check on the descriptor: here the open lands in the data dir.
func TestSecurityCheckOpenedCatchesSwappedPath(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd on this system:", err)
	}
	e := newPrivateEnv(t, true)
	sb := newSandboxWith(FSOptions{Workspace: e.ws, Restrict: true, Private: []string{e.data}})
	f, err := os.Open(filepath.Join(e.data, "sessions", "a.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := sb.checkOpened(context.Background(), f, "notes.txt", false); err == nil || !strings.Contains(err.Error(), "changed while it was being opened") {
		t.Errorf("checkOpened on a data-dir file = %v, want a refusal", err)
	}
	ok, err := os.Create(filepath.Join(e.ws, "notes.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer ok.Close()
	if err := sb.checkOpened(context.Background(), ok, "notes.txt", true); err != nil {
		t.Errorf("checkOpened on a workspace file = %v", err)
	}
}
