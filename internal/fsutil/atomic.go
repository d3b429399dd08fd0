package fsutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrDirSync is wrapped by the error of a replacement whose rename took
// effect but whose directory could not then be synced: readers already see
// the new content, but a crash may bring the old file back. A caller that
// accepts that weaker durability tests for it with errors.Is.
var ErrDirSync = errors.New("new content in place, but its directory was not synced")

// TempPrefix returns how the names of the temporary files that replace
// path begin, so that a store can find and remove those a crash left
// behind. They are hidden (a leading dot) and never end in path's own
// extension, so a listing by extension passes them over.
func TempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// WriteFileAtomic replaces path with data so that a reader, or the file
// system after a crash, sees the old content or the new, never part of
// either. See AtomicFile for the steps; path's directory must exist.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	a, err := CreateAtomic(path, perm)
	if err != nil {
		return err
	}
	defer a.Abort()
	if _, err := a.Write(data); err != nil {
		return err
	}
	return a.Commit()
}

// AtomicFile is a temporary file, next to the path it will replace, for a
// caller that writes its content in pieces. Commit fsyncs it, renames it
// over path and fsyncs the directory; until then path is untouched. On
// any failure before the rename the temporary file is removed. Every
// error names path and the step that failed. An AtomicFile is not safe
// for concurrent use.
type AtomicFile struct {
	f    *os.File
	path string
	done bool // committed or aborted: f is no longer ours
}

// CreateAtomic opens a temporary file that Commit will rename over path,
// with permissions exactly perm (set with chmod, so the umask does not
// narrow them). If path is a symbolic link, Commit replaces the link, not
// its target.
func CreateAtomic(path string, perm os.FileMode) (*AtomicFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), TempPrefix(path)+"*")
	if err != nil {
		return nil, stepError(path, "create temporary file", err)
	}
	a := &AtomicFile{f: f, path: path}
	if err := f.Chmod(perm); err != nil {
		a.Abort()
		return nil, stepError(path, "chmod", err)
	}
	return a, nil
}

// Write appends p to the temporary file.
func (a *AtomicFile) Write(p []byte) (int, error) {
	if a.done {
		return 0, stepError(a.path, "write", os.ErrClosed)
	}
	n, err := a.f.Write(p)
	if err != nil {
		return n, stepError(a.path, "write", err)
	}
	return n, nil
}

// Stat describes the temporary file, which after Commit is the file at
// path: a caller can tell its own write from a later one by it.
func (a *AtomicFile) Stat() (os.FileInfo, error) {
	if a.done {
		return nil, stepError(a.path, "stat", os.ErrClosed)
	}
	info, err := a.f.Stat()
	if err != nil {
		return nil, stepError(a.path, "stat", err)
	}
	return info, nil
}

// Commit fsyncs and closes the temporary file, renames it over path and
// fsyncs the directory. An error that wraps ErrDirSync means the rename
// took effect; any other means path was left as it was.
func (a *AtomicFile) Commit() error {
	_, err := a.commit(false)
	return err
}

// CommitOpen is Commit for a caller that goes on using the file, such as
// a journal that is appended to after it is rewritten: the file is left
// open, positioned after what was written, and handed to the caller, who
// must close it. Keeping the handle avoids a reopen that could fail once
// the old file is gone. The file is non-nil exactly when the rename took
// effect; the error then, if any, wraps ErrDirSync.
func (a *AtomicFile) CommitOpen() (*os.File, error) {
	return a.commit(true)
}

func (a *AtomicFile) commit(keepOpen bool) (*os.File, error) {
	if a.done {
		return nil, stepError(a.path, "commit", os.ErrClosed)
	}
	a.done = true
	tmp := a.f.Name()
	if err := a.f.Sync(); err != nil {
		a.discard()
		return nil, stepError(a.path, "sync", err)
	}
	if !keepOpen {
		if err := a.f.Close(); err != nil {
			os.Remove(tmp)
			return nil, stepError(a.path, "close", err)
		}
	}
	if err := os.Rename(tmp, a.path); err != nil {
		if keepOpen {
			a.f.Close()
		}
		os.Remove(tmp)
		return nil, stepError(a.path, "rename", err)
	}
	var f *os.File
	if keepOpen {
		f = a.f
	}
	if err := SyncDir(filepath.Dir(a.path)); err != nil {
		return f, fmt.Errorf("replace %s: %w: %w", a.path, ErrDirSync, err)
	}
	return f, nil
}

// Abort closes and removes the temporary file, leaving path untouched. It
// does nothing after Commit, CommitOpen or an earlier Abort, so it may be
// deferred right after CreateAtomic.
func (a *AtomicFile) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.discard()
}

func (a *AtomicFile) discard() {
	a.f.Close()
	os.Remove(a.f.Name())
}

func stepError(path, step string, err error) error {
	return fmt.Errorf("replace %s: %s: %w", path, step, err)
}
