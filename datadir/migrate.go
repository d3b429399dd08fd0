package datadir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Moved is one part of an old layout that Migrate moved.
type Moved struct {
	From, To string
}

// Migrate moves the gateway data an older build kept in the workspace into
// d: sessions/ (PicoClaw's and this build's), inbox/, outbox/, state/,
// cron/ and media/ (the last to LegacyMedia, since its files belong to no
// known chat). It runs once per data dir: afterwards a marker file makes
// it a no-op, so that a folder a model later writes into the workspace
// (a forged inbox/journal.jsonl, say) is never taken for gateway data.
// Where the data dir already holds an entry of the same name, the
// workspace's copy is left in place and reported in conflicts. A move
// across file systems copies, then removes.
func Migrate(workspace string, d Dir) (moved []Moved, conflicts []string, err error) {
	return migrate(workspace, d, os.Rename)
}

func migrate(workspace string, d Dir, rename func(from, to string) error) (moved []Moved, conflicts []string, err error) {
	if workspace == "" {
		return nil, nil, nil
	}
	ws, err := filepath.Abs(workspace)
	if err != nil {
		return nil, nil, fmt.Errorf("datadir: migrate %s: %w", workspace, err)
	}
	if err := d.Ensure(); err != nil {
		return nil, nil, err
	}
	if _, err := os.Lstat(d.migratedMarker()); err == nil {
		return nil, nil, nil
	}
	m := mover{rename: rename}
	for _, p := range []struct{ from, to string }{
		{"sessions", d.Sessions()},
		{"inbox", d.Inbox()},
		{"outbox", d.Outbox()},
		{"state", d.State()},
		{"cron", d.Cron()},
		{"media", d.LegacyMedia()},
	} {
		from := filepath.Join(ws, p.from)
		st, err := os.Lstat(from)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return moved, m.conflicts, fmt.Errorf("datadir: migrate %s: %w", from, err)
		}
		if !st.IsDir() {
			continue // not ours: a user's file of that name
		}
		empty, err := isEmptyDir(from)
		if err != nil {
			return moved, m.conflicts, fmt.Errorf("datadir: migrate %s: %w", from, err)
		}
		if empty {
			// An earlier build's `onboard` made these; nothing to move.
			_ = os.Remove(from)
			continue
		}
		if err := m.move(from, p.to); err != nil {
			return moved, m.conflicts, fmt.Errorf("datadir: migrate %s to %s: %w", from, p.to, err)
		}
		moved = append(moved, Moved{From: from, To: p.to})
	}
	// Marked done even with conflicts: those stay in the workspace for
	// the operator to merge by hand, as the caller's log says.
	note := "The gateway data of workspace " + ws + " has been moved here; this file stops a second move.\n"
	if err := os.WriteFile(d.migratedMarker(), []byte(note), FileMode); err != nil {
		return moved, m.conflicts, fmt.Errorf("datadir: migrate: mark done: %w", err)
	}
	return moved, m.conflicts, nil
}

func (d Dir) migratedMarker() string { return filepath.Join(d.root, "migrated") }

type mover struct {
	rename    func(from, to string) error
	conflicts []string
}

// move puts from at to: a rename when to is free, a merge of directories
// when both are, a copy when the rename crosses file systems. What is
// moved ends up with DirMode and FileMode.
func (m *mover) move(from, to string) error {
	fst, err := os.Lstat(from)
	if err != nil {
		return err
	}
	tst, err := os.Lstat(to)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(to), DirMode); err != nil {
			return err
		}
		err := m.rename(from, to)
		if isCrossDevice(err) {
			if err := copyTree(from, to); err != nil {
				return err
			}
			return os.RemoveAll(from)
		}
		if err != nil {
			return err
		}
		return tighten(to)
	case err != nil:
		return err
	case fst.IsDir() && tst.IsDir():
		entries, err := os.ReadDir(from)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := m.move(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
				return err
			}
		}
		if empty, _ := isEmptyDir(from); empty {
			return os.Remove(from)
		}
		return nil
	default:
		m.conflicts = append(m.conflicts, from)
		return nil
	}
}

func isCrossDevice(err error) bool {
	return errors.Is(err, syscall.EXDEV)
}

// copyTree copies the directory or file from to the new path to; symlinks
// are copied as links, other special files are skipped.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		switch {
		case e.IsDir():
			return os.MkdirAll(dst, DirMode)
		case e.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		case e.Type().IsRegular():
			return copyFile(p, dst)
		}
		return nil
	})
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}

// tighten gives every directory under root DirMode and every file
// FileMode; links are left alone.
func tighten(root string) error {
	return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case e.IsDir():
			return os.Chmod(p, DirMode)
		case e.Type().IsRegular():
			return os.Chmod(p, FileMode)
		}
		return nil
	})
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// Describe writes moved as one line for the log: "sessions, inbox → <dir>".
func Describe(moved []Moved) string {
	var names []string
	for _, m := range moved {
		names = append(names, filepath.Base(m.From)+"/")
	}
	return strings.Join(names, ", ")
}
