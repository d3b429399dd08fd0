package tools

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"picoclaw"
)

// fsEnv is a workspace with a sibling directory "outside" it.
type fsEnv struct {
	ws, outside string
	tools       map[string]picoclaw.Tool
}

func newFSEnv(t *testing.T, restrict bool) *fsEnv {
	t.Helper()
	base := t.TempDir()
	e := &fsEnv{ws: filepath.Join(base, "ws"), outside: filepath.Join(base, "outside"), tools: map[string]picoclaw.Tool{}}
	for _, d := range []string{e.ws, e.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(e.outside, "secret.txt"), "top secret")
	for _, tool := range NewFSTools(e.ws, restrict) {
		e.tools[tool.Def().Name] = tool
	}
	return e
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *fsEnv) call(t *testing.T, tool string, args any) (string, error) {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	return e.tools[tool].Call(context.Background(), raw)
}

func TestFSHappyPaths(t *testing.T) {
	e := newFSEnv(t, true)
	steps := []struct {
		tool string
		args map[string]any
		want string // substring of the output
	}{
		{"write_file", map[string]any{"path": "notes/deep/todo.md", "content": "- a\n- b\n"}, "wrote 8 bytes"},
		{"read_file", map[string]any{"path": "notes/deep/todo.md"}, "- a\n- b\n"},
		{"append_file", map[string]any{"path": "notes/deep/todo.md", "content": "- c\n"}, "appended 4 bytes"},
		{"append_file", map[string]any{"path": "new/log.md", "content": "x"}, "appended 1 bytes"},
		{"edit_file", map[string]any{"path": "notes/deep/todo.md", "old_text": "- b\n", "new_text": "- B\n"}, "edited"},
		{"read_file", map[string]any{"path": filepath.Join(e.ws, "notes/deep/todo.md")}, "- a\n- B\n- c\n"},
		{"list_dir", map[string]any{"path": "notes/deep"}, "todo.md (12 bytes)"},
		{"list_dir", map[string]any{}, "new/\nnotes/\n"},
	}
	for _, s := range steps {
		got, err := e.call(t, s.tool, s.args)
		if err != nil {
			t.Fatalf("%s %v: %v", s.tool, s.args, err)
		}
		if !strings.Contains(got, s.want) {
			t.Fatalf("%s %v = %q, want it to contain %q", s.tool, s.args, got, s.want)
		}
	}
	if got := readFile(t, filepath.Join(e.ws, "new/log.md")); got != "x" {
		t.Fatalf("append to new file wrote %q", got)
	}
	leftovers, _ := filepath.Glob(filepath.Join(e.ws, "notes/deep/.*tmp*"))
	if len(leftovers) != 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

func TestFSWriteKeepsMode(t *testing.T) {
	e := newFSEnv(t, true)
	p := filepath.Join(e.ws, "run.sh")
	writeFile(t, p, "echo a")
	if err := os.Chmod(p, 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := e.call(t, "edit_file", map[string]any{"path": "run.sh", "old_text": "a", "new_text": "b"}); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o750 || readFile(t, p) != "echo b" {
		t.Fatalf("after edit: mode %v content %q", st.Mode().Perm(), readFile(t, p))
	}
}

func TestFSEditErrors(t *testing.T) {
	e := newFSEnv(t, true)
	writeFile(t, filepath.Join(e.ws, "f.txt"), "one two two three")
	tests := []struct {
		name   string
		args   map[string]any
		errHas string
	}{
		{"not found", map[string]any{"path": "f.txt", "old_text": "four", "new_text": "x"}, "old_text not found"},
		{"ambiguous", map[string]any{"path": "f.txt", "old_text": "two", "new_text": "x"}, "matches 2 times"},
		{"empty old_text", map[string]any{"path": "f.txt", "old_text": "", "new_text": "x"}, "old_text is required"},
		{"missing new_text", map[string]any{"path": "f.txt", "old_text": "one"}, "new_text is required"},
		{"missing file", map[string]any{"path": "nope.txt", "old_text": "a", "new_text": "b"}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.call(t, "edit_file", tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.errHas)
			}
			if got := readFile(t, filepath.Join(e.ws, "f.txt")); got != "one two two three" {
				t.Fatalf("file changed to %q", got)
			}
		})
	}
	_, err := e.call(t, "edit_file", map[string]any{"path": "f.txt", "old_text": "two", "new_text": "x"})
	if err == nil || !strings.Contains(err.Error(), "more surrounding context") {
		t.Fatalf("ambiguous edit error %v does not ask for more context", err)
	}
}

func TestFSArgErrors(t *testing.T) {
	e := newFSEnv(t, true)
	tests := []struct {
		tool   string
		args   any
		errHas string
	}{
		{"read_file", map[string]any{}, "path is required"},
		{"read_file", map[string]any{"path": 3}, `expected a JSON object like {"path"`},
		{"read_file", map[string]any{"path": "."}, "is a directory"},
		{"write_file", map[string]any{"path": "a.txt"}, "content is required"},
		{"append_file", map[string]any{"path": "a.txt"}, "content is required"},
		{"list_dir", map[string]any{"path": "missing"}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.tool+"/"+tc.errHas, func(t *testing.T) {
			_, err := e.call(t, tc.tool, tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.errHas)
			}
		})
	}
}

func TestFSReadTruncates(t *testing.T) {
	e := newFSEnv(t, true)
	writeFile(t, filepath.Join(e.ws, "big.txt"), strings.Repeat("x", MaxReadBytes+10))
	got, err := e.call(t, "read_file", map[string]any{"path": "big.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, strings.Repeat("x", MaxReadBytes)+"\n") || !strings.Contains(got, "[truncated: file is 262154 bytes") {
		t.Fatalf("truncated read ends with %q", got[len(got)-100:])
	}
}

func TestFSRestrictRefusals(t *testing.T) {
	e := newFSEnv(t, true)
	// A symlink to a file outside, and one to the outside directory.
	if err := os.Symlink(filepath.Join(e.outside, "secret.txt"), filepath.Join(e.ws, "link.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(e.outside, filepath.Join(e.ws, "linkdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(e.outside, "not-yet"), filepath.Join(e.ws, "dangling")); err != nil {
		t.Fatal(err)
	}
	paths := map[string]string{
		"dotdot":            "../outside/secret.txt",
		"dotdot inside":     "sub/../../outside/secret.txt",
		"absolute":          filepath.Join(e.outside, "secret.txt"),
		"symlinked file":    "link.txt",
		"symlinked dir":     "linkdir/secret.txt",
		"new under symlink": "linkdir/new/created.txt",
		"dangling symlink":  "dangling",
	}
	for name, p := range paths {
		for _, tool := range []string{"read_file", "write_file", "append_file", "edit_file", "list_dir"} {
			t.Run(name+"/"+tool, func(t *testing.T) {
				args := map[string]any{"path": p, "content": "pwned", "old_text": "top", "new_text": "pwned"}
				_, err := e.call(t, tool, args)
				if err == nil || !strings.Contains(err.Error(), "outside the workspace") && !strings.Contains(err.Error(), "resolve path") {
					t.Fatalf("err = %v, want a refusal", err)
				}
			})
		}
	}
	if got := readFile(t, filepath.Join(e.outside, "secret.txt")); got != "top secret" {
		t.Fatalf("outside file changed to %q", got)
	}
	for _, p := range []string{"new", "not-yet"} {
		if _, err := os.Lstat(filepath.Join(e.outside, p)); err == nil {
			t.Fatalf("%s was created outside the workspace", p)
		}
	}
	_, err := e.call(t, "read_file", map[string]any{"path": "../outside/secret.txt"})
	if want := `path "../outside/secret.txt" is outside the workspace`; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestFSRestrictAllowsInsideLinks(t *testing.T) {
	e := newFSEnv(t, true)
	writeFile(t, filepath.Join(e.ws, "real/a.txt"), "inside")
	if err := os.Symlink(filepath.Join(e.ws, "real"), filepath.Join(e.ws, "alias")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"alias/a.txt", "real/../real/a.txt", filepath.Join(e.ws, "real/a.txt")} {
		got, err := e.call(t, "read_file", map[string]any{"path": p})
		if err != nil || got != "inside" {
			t.Fatalf("read %s = %q, %v", p, got, err)
		}
	}
	if _, err := e.call(t, "write_file", map[string]any{"path": "alias/new/b.txt", "content": "b"}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(e.ws, "real/new/b.txt")); got != "b" {
		t.Fatalf("write through inside link wrote %q", got)
	}
}

func TestFSUnrestricted(t *testing.T) {
	e := newFSEnv(t, false)
	got, err := e.call(t, "read_file", map[string]any{"path": "../outside/secret.txt"})
	if err != nil || got != "top secret" {
		t.Fatalf("unrestricted read = %q, %v", got, err)
	}
}
