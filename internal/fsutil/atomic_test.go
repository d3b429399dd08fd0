package fsutil

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// dirNames lists dir, failing the test if it cannot.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func writeT(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	tests := []struct {
		name string
		old  string // "" for no file before
		data string
		perm os.FileMode
	}{
		{name: "new file", data: "hello\n", perm: 0o600},
		{name: "replaces content", old: "a much longer old content\n", data: "new\n", perm: 0o600},
		{name: "empty content", old: "old\n", data: "", perm: 0o600},
		// 0666 would be narrowed by a usual umask of 022 if perm went
		// through open(2); it must come out exact.
		{name: "perm exact", old: "old\n", data: "x", perm: 0o666},
		{name: "perm narrower than old", old: "old\n", data: "x", perm: 0o400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state.json")
			if tt.old != "" {
				writeT(t, path, tt.old)
			}
			if err := WriteFileAtomic(path, []byte(tt.data), tt.perm); err != nil {
				t.Fatalf("WriteFileAtomic: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.data {
				t.Errorf("content = %q, want %q", got, tt.data)
			}
			if runtime.GOOS != "windows" {
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != tt.perm {
					t.Errorf("perm = %v, want %v", fi.Mode().Perm(), tt.perm)
				}
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"state.json"}) {
				t.Errorf("directory holds %q, want only state.json", names)
			}
		})
	}
}

func TestWriteFileAtomicFailure(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path to write
		check func(t *testing.T, path string)       // path must be as it was
	}{
		{
			name: "path is a directory",
			setup: func(t *testing.T, dir string) string {
				path := filepath.Join(dir, "sub")
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
				writeT(t, filepath.Join(path, "keep"), "x")
				return path
			},
			check: func(t *testing.T, path string) {
				if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
					t.Errorf("directory at path changed: %v, %v", fi, err)
				}
			},
		},
		{
			name: "directory missing",
			setup: func(t *testing.T, dir string) string {
				return filepath.Join(dir, "missing", "state.json")
			},
			check: func(t *testing.T, path string) {
				if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("missing directory appeared: %v", err)
				}
			},
		},
		{
			name: "directory read-only",
			setup: func(t *testing.T, dir string) string {
				if runtime.GOOS == "windows" || os.Geteuid() == 0 {
					t.Skip("permissions do not stop this user from writing")
				}
				path := filepath.Join(dir, "state.json")
				writeT(t, path, "old")
				if err := os.Chmod(dir, 0o500); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { os.Chmod(dir, 0o700) })
				return path
			},
			check: func(t *testing.T, path string) {
				if got, err := os.ReadFile(path); err != nil || string(got) != "old" {
					t.Errorf("old file changed: %q, %v", got, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(t, dir)
			before := dirNames(t, dir)
			err := WriteFileAtomic(path, []byte("new"), 0o600)
			if err == nil {
				t.Fatal("WriteFileAtomic succeeded, want an error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if errors.Is(err, ErrDirSync) {
				t.Errorf("error %q claims the rename took effect", err)
			}
			tt.check(t, path)
			if after := dirNames(t, dir); !slices.Equal(after, before) {
				t.Errorf("directory holds %q after the failure, want %q (temporary file left?)", after, before)
			}
		})
	}
}

func TestWriteFileAtomicReplacesLinkNotTarget(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	writeT(t, target, "target")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if err := WriteFileAtomic(link, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(target); string(got) != "target" {
		t.Errorf("target = %q, want it untouched", got)
	}
	if fi, err := os.Lstat(link); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("link was not replaced by a regular file: %v, %v", fi, err)
	}
}
