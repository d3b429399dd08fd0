//go:build !linux

package session

import "os"

// datasync is fsync where fdatasync(2) is not available to the standard
// library.
func datasync(f *os.File) error { return f.Sync() }
