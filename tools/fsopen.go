package tools

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// errNotRegular is wrapped by the errors of openRegular and checkRegular.
var errNotRegular = errors.New("not a regular file")

// kindOf names a file type for the model.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	case m.IsDir():
		return "a directory"
	}
	return "a special file"
}

// notRegular is the tool error for a path that is neither a regular file
// nor (where one is accepted) a directory.
func notRegular(name string, m fs.FileMode) error {
	return fmt.Errorf("%q is %s: %w; only regular files and directories can be used", name, kindOf(m), errNotRegular)
}

// openRegular opens path with flag and checks, on the opened descriptor,
// that it is a regular file (or a directory when dirOK). O_NONBLOCK keeps
// the open itself from waiting forever for the other end of a FIFO (which
// would hang the turn in a system call no context can interrupt); fstat on
// the descriptor, not a stat of the name, means a file swapped in between
// check and open cannot slip through.
func openRegular(path, name string, flag int, perm fs.FileMode, dirOK bool) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NONBLOCK, perm)
	if err != nil {
		if errors.Is(err, syscall.ENXIO) {
			// A socket, or a FIFO opened for writing with no reader.
			if st, serr := os.Stat(path); serr == nil && !st.Mode().IsRegular() {
				return nil, nil, notRegular(name, st.Mode())
			}
			return nil, nil, fmt.Errorf("%q is a named pipe, socket or device: %w; only regular files and directories can be used", name, errNotRegular)
		}
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() && !(dirOK && st.IsDir()) {
		f.Close()
		return nil, nil, notRegular(name, st.Mode())
	}
	return f, st, nil
}

// checkRegular refuses an existing path that is not a regular file (or a
// directory when dirOK); a missing path is fine. It does not open the
// file, so it cannot block.
func checkRegular(path, name string, dirOK bool) error {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() && !(dirOK && st.IsDir()) {
		return notRegular(name, st.Mode())
	}
	return nil
}
