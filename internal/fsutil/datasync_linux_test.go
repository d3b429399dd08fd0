//go:build linux

package fsutil

import (
	"errors"
	"os"
	"syscall"
	"testing"
)

// A pipe cannot be fdatasynced: the failure must come back as a PathError
// naming the call, so a log line says what failed.
func TestDataSyncReportsFdatasync(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	err = DataSync(w)
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != "fdatasync" || !errors.Is(err, syscall.EINVAL) {
		t.Errorf("DataSync(pipe) = %#v, want *os.PathError{Op: fdatasync, Err: EINVAL}", err)
	}
}
