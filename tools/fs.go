package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"picoclaw"
	"picoclaw/internal/fsutil"
)

// MaxReadBytes is how much of a file read_file returns; the model is told
// when a file was longer.
const MaxReadBytes = 256 << 10

// maxEditBytes bounds the files edit_file loads whole into memory.
const maxEditBytes = 8 << 20

// maxListEntries bounds list_dir's answer.
const maxListEntries = 1000

// NewFSTools returns read_file, write_file, edit_file, append_file and
// list_dir working in workspace. Relative paths are taken from workspace;
// with restrict, paths outside it (by "..", absolute path or symlink) are
// refused.
func NewFSTools(workspace string, restrict bool) []picoclaw.Tool {
	return NewFSToolsWith(FSOptions{Workspace: workspace, Restrict: restrict})
}

// NewFSToolsWith is NewFSTools with private paths and per-chat media.
func NewFSToolsWith(o FSOptions) []picoclaw.Tool {
	sb := newSandboxWith(o)
	return []picoclaw.Tool{
		&funcTool{def("read_file", "Read a text file. Relative paths are taken from the workspace. Files over 256 KiB are truncated.",
			`{"type":"object","properties":{"path":{"type":"string","description":"Path of the file to read"}},"required":["path"]}`),
			sb.readFile},
		&funcTool{def("write_file", "Write content to a file, replacing it if it exists and creating parent directories as needed.",
			`{"type":"object","properties":{"path":{"type":"string","description":"Path of the file to write"},"content":{"type":"string","description":"The complete new content of the file"}},"required":["path","content"]}`),
			sb.writeFile},
		&funcTool{def("edit_file", "Replace old_text with new_text in a file. old_text must match the file exactly once; include surrounding lines to make it unique.",
			`{"type":"object","properties":{"path":{"type":"string","description":"Path of the file to edit"},"old_text":{"type":"string","description":"Exact text to find; must occur exactly once"},"new_text":{"type":"string","description":"Text to put in its place"}},"required":["path","old_text","new_text"]}`),
			sb.editFile},
		&funcTool{def("append_file", "Append content to the end of a file, creating it if it does not exist.",
			`{"type":"object","properties":{"path":{"type":"string","description":"Path of the file to append to"},"content":{"type":"string","description":"Text to append"}},"required":["path","content"]}`),
			sb.appendFile},
		&funcTool{def("list_dir", "List a directory: subdirectories end with /, files show their size.",
			`{"type":"object","properties":{"path":{"type":"string","description":"Directory to list; default is the workspace"}}}`),
			sb.listDir},
	}
}

type fsArgs struct {
	Path    string  `json:"path"`
	Content *string `json:"content"`
	OldText *string `json:"old_text"`
	NewText *string `json:"new_text"`
}

func (s sandbox) readFile(ctx context.Context, raw json.RawMessage) (string, error) {
	var a fsArgs
	if err := decodeArgs("read_file", raw, &a, `{"path": "notes/todo.md"}`); err != nil {
		return "", err
	}
	p, err := s.readPath(ctx, a.Path)
	if err != nil {
		return "", fmt.Errorf("read_file: %w", err)
	}
	f, st, err := openRegular(p, a.Path, os.O_RDONLY, 0, true)
	if err != nil {
		return "", fmt.Errorf("read_file: %w", err)
	}
	if err := s.checkOpened(ctx, f, a.Path, false); err != nil {
		f.Close()
		return "", fmt.Errorf("read_file: %w", err)
	}
	defer f.Close()
	if st.IsDir() {
		return "", fmt.Errorf("read_file: %q is a directory; use list_dir to see its entries", a.Path)
	}
	buf, err := io.ReadAll(io.LimitReader(f, MaxReadBytes+1))
	if err != nil {
		return "", fmt.Errorf("read_file: %w", err)
	}
	if len(buf) > MaxReadBytes {
		return strings.ToValidUTF8(string(buf[:MaxReadBytes]), "") +
			fmt.Sprintf("\n\n[truncated: file is %d bytes; only the first %d bytes are shown]", st.Size(), MaxReadBytes), nil
	}
	return string(buf), nil
}

func (s sandbox) writeFile(ctx context.Context, raw json.RawMessage) (string, error) {
	var a fsArgs
	if err := decodeArgs("write_file", raw, &a, `{"path": "notes/todo.md", "content": "..."}`); err != nil {
		return "", err
	}
	if a.Content == nil {
		return "", errors.New("write_file: content is required (use \"\" for an empty file)")
	}
	p, err := s.writePath(ctx, a.Path)
	if err != nil {
		return "", fmt.Errorf("write_file: %w", err)
	}
	if err := checkRegular(p, a.Path, false); err != nil {
		return "", fmt.Errorf("write_file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("write_file: create parent directories: %w", err)
	}
	if err := writeAtomic(p, []byte(*a.Content)); err != nil {
		return "", fmt.Errorf("write_file: %w", err)
	}
	return fmt.Sprintf("wrote %d bytes to %s", len(*a.Content), a.Path), nil
}

func (s sandbox) editFile(ctx context.Context, raw json.RawMessage) (string, error) {
	var a fsArgs
	if err := decodeArgs("edit_file", raw, &a, `{"path": "notes/todo.md", "old_text": "- [ ] call Li", "new_text": "- [x] call Li"}`); err != nil {
		return "", err
	}
	if a.OldText == nil || *a.OldText == "" {
		return "", errors.New("edit_file: old_text is required and must not be empty")
	}
	if a.NewText == nil {
		return "", errors.New("edit_file: new_text is required (use \"\" to delete old_text)")
	}
	p, err := s.writePath(ctx, a.Path)
	if err != nil {
		return "", fmt.Errorf("edit_file: %w", err)
	}
	f, st, err := openRegular(p, a.Path, os.O_RDONLY, 0, true)
	if err != nil {
		return "", fmt.Errorf("edit_file: %w", err)
	}
	if err := s.checkOpened(ctx, f, a.Path, true); err != nil {
		f.Close()
		return "", fmt.Errorf("edit_file: %w", err)
	}
	defer f.Close()
	if st.IsDir() {
		return "", fmt.Errorf("edit_file: %q is a directory", a.Path)
	}
	if st.Size() > maxEditBytes {
		return "", fmt.Errorf("edit_file: %q is %d bytes, over the %d-byte limit for editing", a.Path, st.Size(), maxEditBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxEditBytes+1))
	if err != nil {
		return "", fmt.Errorf("edit_file: %w", err)
	}
	if len(data) > maxEditBytes {
		return "", fmt.Errorf("edit_file: %q grew past the %d-byte limit for editing", a.Path, maxEditBytes)
	}
	content := string(data)
	switch n := strings.Count(content, *a.OldText); n {
	case 0:
		return "", fmt.Errorf("edit_file: old_text not found in %s; it must match the file exactly, whitespace included (read_file shows the current content)", a.Path)
	case 1:
	default:
		return "", fmt.Errorf("edit_file: old_text matches %d times in %s; include more surrounding context so that it matches exactly once", n, a.Path)
	}
	content = strings.Replace(content, *a.OldText, *a.NewText, 1)
	if err := writeAtomic(p, []byte(content)); err != nil {
		return "", fmt.Errorf("edit_file: %w", err)
	}
	return fmt.Sprintf("edited %s", a.Path), nil
}

func (s sandbox) appendFile(ctx context.Context, raw json.RawMessage) (string, error) {
	var a fsArgs
	if err := decodeArgs("append_file", raw, &a, `{"path": "memory/log.md", "content": "..."}`); err != nil {
		return "", err
	}
	if a.Content == nil {
		return "", errors.New("append_file: content is required")
	}
	p, err := s.writePath(ctx, a.Path)
	if err != nil {
		return "", fmt.Errorf("append_file: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("append_file: create parent directories: %w", err)
	}
	f, _, err := openRegular(p, a.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644, false)
	if err != nil {
		return "", fmt.Errorf("append_file: %w", err)
	}
	if err := s.checkOpened(ctx, f, a.Path, true); err != nil {
		f.Close()
		return "", fmt.Errorf("append_file: %w", err)
	}
	if _, err := f.WriteString(*a.Content); err != nil {
		f.Close()
		return "", fmt.Errorf("append_file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("append_file: %w", err)
	}
	return fmt.Sprintf("appended %d bytes to %s", len(*a.Content), a.Path), nil
}

func (s sandbox) listDir(ctx context.Context, raw json.RawMessage) (string, error) {
	var a fsArgs
	if err := decodeArgs("list_dir", raw, &a, `{"path": "."}`); err != nil {
		return "", err
	}
	if strings.TrimSpace(a.Path) == "" {
		a.Path = "."
	}
	p, err := s.readPath(ctx, a.Path)
	if err != nil {
		return "", fmt.Errorf("list_dir: %w", err)
	}
	d, st, err := openRegular(p, a.Path, os.O_RDONLY, 0, true)
	if err != nil {
		return "", fmt.Errorf("list_dir: %w", err)
	}
	if err := s.checkOpened(ctx, d, a.Path, false); err != nil {
		d.Close()
		return "", fmt.Errorf("list_dir: %w", err)
	}
	defer d.Close()
	if !st.IsDir() {
		return "", fmt.Errorf("list_dir: %q is a file, not a directory; use read_file to read it", a.Path)
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		return "", fmt.Errorf("list_dir: %w", err)
	}
	slices.SortFunc(entries, func(x, y fs.DirEntry) int { return strings.Compare(x.Name(), y.Name()) })
	if len(entries) == 0 {
		return "(empty directory)", nil
	}
	var b strings.Builder
	for i, e := range entries {
		if i == maxListEntries {
			fmt.Fprintf(&b, "[… %d more entries not shown]\n", len(entries)-i)
			break
		}
		b.WriteString(formatEntry(p, e))
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func formatEntry(dir string, e fs.DirEntry) string {
	name := e.Name()
	switch {
	case e.IsDir():
		return name + "/"
	case e.Type()&fs.ModeSymlink != 0:
		target, err := os.Readlink(filepath.Join(dir, name))
		if err != nil {
			return name + " -> ?"
		}
		return name + " -> " + target
	}
	info, err := e.Info()
	if err != nil {
		return name
	}
	return fmt.Sprintf("%s (%d bytes)", name, info.Size())
}

// writeAtomic replaces path with data so that a reader sees the old or the
// new content, never half of it. An existing file keeps its permissions. A
// failed directory sync is ignored: the file is already replaced, and
// reporting a failure the model would retry would be wrong.
func writeAtomic(path string, data []byte) error {
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	if err := fsutil.WriteFileAtomic(path, data, mode); err != nil && !errors.Is(err, fsutil.ErrDirSync) {
		return err
	}
	return nil
}
