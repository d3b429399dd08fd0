//go:build !linux

package fsutil

import "os"

// DataSync is fsync where fdatasync(2) is not available to the standard
// library.
func DataSync(f *os.File) error { return f.Sync() }
