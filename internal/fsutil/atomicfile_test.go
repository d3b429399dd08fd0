package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAtomicFileCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.jsonl")
	writeT(t, path, "old\n")

	a, err := CreateAtomic(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Abort)
	for _, line := range []string{"one\n", "two\n"} {
		if _, err := io.WriteString(a, line); err != nil {
			t.Fatal(err)
		}
	}
	// Until Commit, path keeps its content and the temporary file is
	// named so a store can recognise it.
	if got, _ := os.ReadFile(path); string(got) != "old\n" {
		t.Errorf("before Commit path = %q, want the old content", got)
	}
	var temps int
	for _, n := range dirNames(t, dir) {
		if strings.HasPrefix(n, TempPrefix(path)) {
			temps++
		}
	}
	if temps != 1 {
		t.Errorf("found %d files named %s*, want 1: %q", temps, TempPrefix(path), dirNames(t, dir))
	}
	info, err := a.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	a.Abort() // after Commit: must not remove the new file

	if got, _ := os.ReadFile(path); string(got) != "one\ntwo\n" {
		t.Errorf("after Commit path = %q", got)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(info, after) {
		t.Error("Stat before Commit does not describe the committed file")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"log.jsonl"}) {
		t.Errorf("directory holds %q, want only log.jsonl", names)
	}
	if _, err := a.Write([]byte("late")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Commit = %v, want os.ErrClosed", err)
	}
	if err := a.Commit(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Commit = %v, want os.ErrClosed", err)
	}
}

func TestAtomicFileAbort(t *testing.T) {
	tests := []struct {
		name string
		old  bool
	}{
		{name: "existing file", old: true},
		{name: "no file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "state")
			if tt.old {
				writeT(t, path, "old")
			}
			before := dirNames(t, dir)
			a, err := CreateAtomic(path, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.Write([]byte("new")); err != nil {
				t.Fatal(err)
			}
			a.Abort()
			a.Abort() // twice is harmless
			if after := dirNames(t, dir); !slices.Equal(after, before) {
				t.Errorf("directory holds %q after Abort, want %q", after, before)
			}
			if tt.old {
				if got, _ := os.ReadFile(path); string(got) != "old" {
					t.Errorf("path = %q after Abort, want old", got)
				}
			}
			if err := a.Commit(); !errors.Is(err, os.ErrClosed) {
				t.Errorf("Commit after Abort = %v, want os.ErrClosed", err)
			}
		})
	}
}

func TestAtomicFileCommitOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.jsonl")
	writeT(t, path, "old journal\n")

	a, err := CreateAtomic(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Abort)
	if _, err := a.Write([]byte("compacted\n")); err != nil {
		t.Fatal(err)
	}
	f, err := a.CommitOpen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	a.Abort() // must neither close f nor remove the file
	// The handle now is the file at path, positioned at its end.
	if _, err := f.Write([]byte("appended\n")); err != nil {
		t.Fatalf("write through the kept handle: %v", err)
	}
	if err := DataSync(f); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "compacted\nappended\n" {
		t.Errorf("path = %q, want the compacted content and the append", got)
	}
}

func TestAtomicFileCommitOpenFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "journal.jsonl")
	if err := os.Mkdir(path, 0o700); err != nil { // rename over it fails
		t.Fatal(err)
	}
	writeT(t, filepath.Join(path, "keep"), "x")
	a, err := CreateAtomic(path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f, err := a.CommitOpen()
	if err == nil || f != nil {
		t.Fatalf("CommitOpen = %v, %v; want no file and an error", f, err)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"journal.jsonl"}) {
		t.Errorf("directory holds %q, want the temporary file gone", names)
	}
}
