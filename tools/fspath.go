package tools

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// MediaPrefix is the folder name under which the file tools show the
// files received in the current turn's chat; they live in the gateway's
// data dir, one folder per chat, and no other chat's turn sees them.
const MediaPrefix = "media"

// FSOptions configures the file tools.
type FSOptions struct {
	// Workspace is where relative paths are taken from.
	Workspace string
	// Restrict refuses paths outside Workspace (by "..", an absolute path
	// or a symlink).
	Restrict bool
	// Private lists paths no file tool may read or write, whatever
	// Restrict says: the gateway's data dir, the config file. Files there
	// hold every chat's history and the gateway's secrets.
	Private []string
	// ChatMedia returns the media folder of the chat the turn in ctx
	// answers. The tools show it, read-only, as "media/", and accept its
	// absolute path too; the other chats' folders stay Private.
	ChatMedia func(ctx context.Context) (dir string, ok bool)
}

// sandbox resolves the paths a model names against the workspace and
// refuses those it may not touch.
type sandbox struct {
	root      string // absolute, cleaned workspace path
	restrict  bool
	private   []string // absolute, cleaned
	chatMedia func(ctx context.Context) (string, bool)
}

func newSandbox(workspace string, restrict bool) sandbox {
	return newSandboxWith(FSOptions{Workspace: workspace, Restrict: restrict})
}

func newSandboxWith(o FSOptions) sandbox {
	s := sandbox{root: absClean(o.Workspace), restrict: o.Restrict, chatMedia: o.ChatMedia}
	for _, p := range o.Private {
		if strings.TrimSpace(p) != "" {
			s.private = append(s.private, absClean(p))
		}
	}
	return s
}

func absClean(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return filepath.Clean(p)
	}
	return abs
}

// readPath resolves p for reading: the current chat's media folder is
// open to it.
func (s sandbox) readPath(ctx context.Context, p string) (string, error) {
	return s.resolveIn(ctx, p, false)
}

// writePath resolves p for writing: received media are read-only.
func (s sandbox) writePath(ctx context.Context, p string) (string, error) {
	return s.resolveIn(ctx, p, true)
}

func (s sandbox) resolveIn(ctx context.Context, p string, write bool) (string, error) {
	media, hasMedia := "", false
	if s.chatMedia != nil {
		media, hasMedia = s.chatMedia(ctx)
	}
	if !hasMedia {
		return s.resolve(p)
	}
	media = absClean(media)
	if rest, ok := underMediaPrefix(p); ok {
		if write {
			return "", fmt.Errorf("path %q is in the files received in this chat, which are read-only: write to another folder of the workspace", p)
		}
		return resolveMedia(media, rest, p)
	}
	if filepath.IsAbs(p) && within(media, filepath.Clean(p)) {
		if write {
			return "", fmt.Errorf("path %q is in the files received in this chat, which are read-only: write to another folder of the workspace", p)
		}
		rel, _ := filepath.Rel(media, filepath.Clean(p))
		return resolveMedia(media, rel, p)
	}
	return s.resolve(p)
}

// checkOpened re-checks an opened file by the path the kernel actually
// opened (Linux: the /proc/self/fd link), so that a symlink swapped into
// the path between resolve and open (an exec tool running at the same
// time can make one) cannot lead into private data or out of the
// workspace. Where that link cannot be read, resolve's check stands alone.
func (s sandbox) checkOpened(ctx context.Context, f *os.File, shown string, write bool) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	var real string
	var rerr error
	// Control, not Fd: Fd would switch the descriptor to blocking mode.
	if err := rc.Control(func(fd uintptr) {
		real, rerr = os.Readlink("/proc/self/fd/" + strconv.FormatUint(uint64(fd), 10))
	}); err != nil || rerr != nil || !filepath.IsAbs(real) {
		return nil
	}
	if _, err := s.resolveIn(ctx, real, write); err != nil {
		return fmt.Errorf("path %q changed while it was being opened: %w", shown, err)
	}
	return nil
}

// underMediaPrefix reports whether the relative path p names the media
// folder or something below it, and returns the rest.
func underMediaPrefix(p string) (string, bool) {
	if filepath.IsAbs(p) {
		return "", false
	}
	c := filepath.Clean(p)
	if c == MediaPrefix {
		return ".", true
	}
	if strings.HasPrefix(c, MediaPrefix+string(filepath.Separator)) {
		return c[len(MediaPrefix)+1:], true
	}
	return "", false
}

// resolveMedia resolves rest, relative and clean, inside the chat's media
// folder, following symlinks, and refuses what ends up outside it.
func resolveMedia(media, rest, shown string) (string, error) {
	root, err := filepath.EvalSymlinks(media)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("path %q: no files have been received in this chat", shown)
	}
	if err != nil {
		return "", fmt.Errorf("resolve the media folder: %w", err)
	}
	real, err := realPath(filepath.Join(root, rest))
	if err != nil {
		return "", fmt.Errorf("resolve path %q: %w", shown, err)
	}
	if !within(root, real) {
		return "", fmt.Errorf("path %q is outside the files received in this chat", shown)
	}
	return real, nil
}

// resolve turns p into the absolute path to operate on. Relative paths are
// taken from the workspace. The path is checked after following every
// symlink in its existing part, so neither "..", an absolute path, nor a
// symlink (to a file, or to a directory a new file would be created in)
// can lead into a private path or, when restricted, outside the workspace;
// the returned path is the resolved one, so the operation uses exactly
// what was checked.
func (s sandbox) resolve(p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", errors.New("path is required")
	}
	abs := p
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(s.root, abs)
	}
	abs = filepath.Clean(abs)
	if !s.restrict && len(s.private) == 0 {
		return abs, nil
	}
	real, err := realPath(abs)
	if err != nil {
		return "", fmt.Errorf("resolve path %q: %w", p, err)
	}
	for _, priv := range s.private {
		// Both spellings: the private path as configured, and with its
		// own symlinks followed.
		rp, err := realPath(priv)
		if within(priv, abs) || within(priv, real) || (err == nil && within(rp, real)) {
			return "", fmt.Errorf("path %q is the gateway's private data, which tools cannot access", p)
		}
	}
	if !s.restrict {
		return real, nil
	}
	root, err := realPath(s.root)
	if err != nil {
		return "", fmt.Errorf("resolve workspace %s: %w", s.root, err)
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
