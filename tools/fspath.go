package tools

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// sandbox resolves the paths a model names against the workspace and, when
// restrict is set, refuses those that end up outside it.
type sandbox struct {
	root     string // absolute, cleaned workspace path
	restrict bool
}

func newSandbox(workspace string, restrict bool) sandbox {
	root, err := filepath.Abs(workspace)
	if err != nil {
		root = filepath.Clean(workspace)
	}
	return sandbox{root: root, restrict: restrict}
}

// resolve turns p into the absolute path to operate on. Relative paths are
// taken from the workspace. When restricted, the path is checked after
// following every symlink in its existing part, so neither "..", an
// absolute path, nor a symlink (to a file, or to a directory a new file
// would be created in) can lead outside; the returned path is the resolved
// one, so the operation uses exactly what was checked.
func (s sandbox) resolve(p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", errors.New("path is required")
	}
	abs := p
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(s.root, abs)
	}
	abs = filepath.Clean(abs)
	if !s.restrict {
		return abs, nil
	}
	root, err := realPath(s.root)
	if err != nil {
		return "", fmt.Errorf("resolve workspace %s: %w", s.root, err)
	}
	real, err := realPath(abs)
	if err != nil {
		return "", fmt.Errorf("resolve path %q: %w", p, err)
	}
	if !within(root, real) {
		return "", fmt.Errorf("path %q is outside the workspace %s: access is restricted to files inside the workspace", p, s.root)
	}
	return real, nil
}

// within reports whether p is root or below it.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// realPath follows the symlinks of the longest existing prefix of the
// absolute, clean path p and appends the part that does not exist yet.
// A dangling symlink is an error: what it would create cannot be checked.
func realPath(p string) (string, error) {
	cur, suffix := p, ""
	for {
		_, err := os.Lstat(cur)
		if err == nil {
			r, err := filepath.EvalSymlinks(cur)
			if err != nil {
				return "", fmt.Errorf("follow symlinks: %w", err)
			}
			return filepath.Join(r, suffix), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p, nil
		}
		suffix = filepath.Join(filepath.Base(cur), suffix)
		cur = parent
	}
}
