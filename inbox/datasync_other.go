//go:build !linux

package inbox

import "os"

// datasync is fsync where fdatasync(2) is not available to the standard
// library.
func datasync(f *os.File) error { return f.Sync() }
