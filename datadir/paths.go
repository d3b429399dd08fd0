package datadir

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"picoclaw"
)

// Permissions of everything the gateway creates in the data dir: only
// its owner may read what users said.
const (
	DirMode  os.FileMode = 0o700
	FileMode os.FileMode = 0o600
)

// Dir is a data directory. Each method returns the absolute path of one
// part of it; all wiring goes through these, so a new part is one method.
type Dir struct {
	root string
}

// New returns the data dir rooted at root, made absolute.
func New(root string) (Dir, error) {
	if strings.TrimSpace(root) == "" {
		return Dir{}, fmt.Errorf("datadir: no directory given")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return Dir{}, fmt.Errorf("datadir: %s: %w", root, err)
	}
	return Dir{root: abs}, nil
}

// Root is the data dir itself.
func (d Dir) Root() string { return d.root }

// Sessions holds one conversation history per session key.
func (d Dir) Sessions() string { return filepath.Join(d.root, "sessions") }

// Inbox holds the journal of accepted messages.
func (d Dir) Inbox() string { return filepath.Join(d.root, "inbox") }

// Outbox holds answers not yet accepted by the chat platform.
func (d Dir) Outbox() string { return filepath.Join(d.root, "outbox") }

// State holds channel state such as reply routes.
func (d Dir) State() string { return filepath.Join(d.root, "state") }

// Cron holds the scheduled jobs.
func (d Dir) Cron() string { return filepath.Join(d.root, "cron") }

// CronJobs is the jobs file in Cron.
func (d Dir) CronJobs() string { return filepath.Join(d.Cron(), "jobs.json") }

// Media holds received files, one folder per chat (see ChatMedia).
func (d Dir) Media() string { return filepath.Join(d.root, "media") }

// ChatMedia is the folder of the files received in the chat of session:
// only that chat's turns may read it.
func (d Dir) ChatMedia(session picoclaw.SessionKey) string {
	return filepath.Join(d.Media(), ChatFolder(session))
}

// LegacyMedia keeps the files of the old shared workspace media folder,
// whose chat is unknown: no chat may read them.
func (d Dir) LegacyMedia() string { return filepath.Join(d.root, "legacy-media") }

// LockFile is the file a running gateway holds locked (see Lock).
func (d Dir) LockFile() string { return filepath.Join(d.root, "gateway.lock") }

// Contains reports whether p, absolute and clean, is the data dir or
// inside it. Symlinks are the caller's to resolve.
func (d Dir) Contains(p string) bool { return within(d.root, p) }

// Ensure creates the data dir with DirMode, and tightens its mode when an
// existing one is open to group or others.
func (d Dir) Ensure() error {
	if err := os.MkdirAll(d.root, DirMode); err != nil {
		return fmt.Errorf("datadir: create %s: %w", d.root, err)
	}
	st, err := os.Stat(d.root)
	if err != nil {
		return fmt.Errorf("datadir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("datadir: %s is not a directory", d.root)
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(d.root, DirMode); err != nil {
			return fmt.Errorf("datadir: restrict %s to its owner: %w", d.root, err)
		}
	}
	return nil
}

// maxReadable bounds the readable part of a chat folder name.
const maxReadable = 64

// ChatFolder turns a session key into a folder name: its readable part
// keeps letters, digits, '-' and '_', writes ':' as '~' and every other
// byte as %XX (so no "..", no separator), cut to 64 bytes; a hash of the
// exact key follows, so two keys never share a folder, not even on a
// case-insensitive file system or after the cut.
func ChatFolder(session picoclaw.SessionKey) string {
	var b strings.Builder
	for i := 0; i < len(session) && b.Len() < maxReadable; i++ {
		c := session[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		case c == ':':
			b.WriteByte('~')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	sum := sha256.Sum256([]byte(session))
	return b.String() + "." + hex.EncodeToString(sum[:6])
}

// within reports whether p is root or below it; both absolute and clean.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

// CheckApart refuses a data dir and workspace that overlap once symlinks
// are followed (config validation compares the paths as written): tools
// reach everything in the workspace. A workspace that does not exist yet
// cannot overlap.
func (d Dir) CheckApart(workspace string) error {
	ws, err := filepath.EvalSymlinks(workspace)
	if err != nil {
		return nil
	}
	root, err := filepath.EvalSymlinks(d.root)
	if err != nil {
		return fmt.Errorf("datadir: resolve %s: %w", d.root, err)
	}
	if within(ws, root) || within(root, ws) {
		return fmt.Errorf("agents.defaults.data_dir %s and agents.defaults.workspace %s are the same place or one holds the other (after following symlinks): tools would reach the gateway's data; give them separate folders", d.root, workspace)
	}
	return nil
}
