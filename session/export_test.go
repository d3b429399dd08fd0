package session

import "os"

// FailWrites makes s's appends write at most n bytes and then fail with
// err, as a disk that fills up mid-write does; restore undoes it.
func FailWrites(s *Store, n int, err error) (restore func()) {
	s.write = func(f *os.File, b []byte) (int, error) {
		if len(b) > n {
			b = b[:n]
		}
		w, werr := f.Write(b)
		if werr != nil {
			return w, werr
		}
		return w, err
	}
	return func() { s.write = (*os.File).Write }
}
