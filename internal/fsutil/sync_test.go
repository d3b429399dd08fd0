package fsutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestDataSync(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "data")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write([]byte("record\n")); err != nil {
		t.Fatal(err)
	}
	if err := DataSync(f); err != nil {
		t.Fatalf("DataSync on an open file: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := DataSync(f); err == nil {
		t.Error("DataSync on a closed file succeeded, want an error")
	}
}

func TestSyncDir(t *testing.T) {
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		wantErr error // nil: success
	}{
		{name: "existing", dir: func(t *testing.T) string { return t.TempDir() }},
		{
			name:    "missing",
			dir:     func(t *testing.T) string { return filepath.Join(t.TempDir(), "gone") },
			wantErr: fs.ErrNotExist,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := SyncDir(tt.dir(t))
			if tt.wantErr == nil && err != nil {
				t.Errorf("SyncDir = %v, want nil", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("SyncDir = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestReplayBufferSize(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		size, want int
	}{{0, 4 << 10}, {10 << 10, 10 << 10}, {1 << 20, 64 << 10}} {
		path := filepath.Join(dir, fmt.Sprint(tc.size))
		if err := os.WriteFile(path, make([]byte, tc.size), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := ReplayBufferSize(f, 64<<10); got != tc.want {
			t.Errorf("file of %d bytes: buffer %d, want %d", tc.size, got, tc.want)
		}
		f.Close()
	}
}
