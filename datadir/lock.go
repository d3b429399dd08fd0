package datadir

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gofrs/flock"
)

// LockedError is Lock's error when another process holds the data dir.
type LockedError struct {
	Dir string
	PID int // 0 when the holder's pid is unknown
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("pid %d", e.PID)
	}
	return fmt.Sprintf("another picoclaw gateway (%s) is using %s", who, e.Dir)
}

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
		return nil, &LockedError{Dir: d.root, PID: readPID(d.LockFile())}
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
