package fsutil

import (
	"fmt"
	"os"
)

// SyncDir fsyncs the directory dir so that a file created, renamed or
// removed in it survives a crash: fsyncing the file alone does not make
// its name durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}
