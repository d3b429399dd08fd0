//go:build linux

package fsutil

import (
	"errors"
	"os"
	"syscall"
)

// DataSync flushes f's data and the metadata needed to read it back (its
// size, after an append) with fdatasync(2), which skips the timestamps
// fsync would also write. It retries when a signal interrupts the call.
func DataSync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if !errors.Is(serr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
