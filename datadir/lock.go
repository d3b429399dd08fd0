package datadir

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gofrs/flock"
)

// ErrLocked is wrapped by Lock's error when another process holds the
// data dir.
var ErrLocked = errors.New("data dir is in use")

// Lock is a held exclusive lock on a data dir.
type Lock struct {
	fl *flock.Flock
}

// Lock takes the exclusive lock on d without waiting, and writes this
// process's pid into the lock file so that a second gateway can say who
// holds it. The lock goes with the process, so a crashed gateway never
// leaves a stale one behind.
func (d Dir) Lock() (*Lock, error) {
	if err := d.Ensure(); err != nil {
		return nil, err
	}
	fl := flock.New(d.LockFile(), flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(FileMode))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("datadir: lock %s: %w", d.LockFile(), err)
	}
	if !ok {
		who := "another process"
		if pid := readPID(d.LockFile()); pid > 0 {
			who = fmt.Sprintf("pid %d", pid)
		}
		return nil, fmt.Errorf("another picoclaw gateway (%s) is using %s: %w", who, d.root, ErrLocked)
	}
	if err := writePID(fl.Path(), os.Getpid()); err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("datadir: lock %s: write pid: %w", d.LockFile(), err)
	}
	return &Lock{fl: fl}, nil
}

// Unlock releases the lock. The file stays; the next holder overwrites
// the pid in it.
func (l *Lock) Unlock() error {
	if err := l.fl.Unlock(); err != nil {
		return fmt.Errorf("datadir: unlock: %w", err)
	}
	return nil
}

// writePID replaces the lock file's content with pid. The lock is on the
// open file, not its content, so rewriting it in place is safe.
func writePID(path string, pid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, FileMode)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.Itoa(pid) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func readPID(path string) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		return 0
	}
	return pid
}
