package cron

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"picoclaw/internal/fsutil"
)

// fileVersion is the "version" written in jobs.json.
const fileVersion = 1

type storeFile struct {
	Version int   `json:"version"`
	Jobs    []Job `json:"jobs"`
}

// Store reads and writes one jobs.json. It keeps no jobs itself.
type Store struct {
	path     string
	minEvery int64 // the shortest "every" interval a job may have
}

// NewStore returns the store of the file at path.
func NewStore(path string) *Store { return &Store{path: path, minEvery: MinEverySeconds} }

// Path is the file's path.
func (s *Store) Path() string { return s.path }

// stamp identifies one version of the file. Every save renames a fresh
// file into place, so the file identity changes even where the file
// system's modification times are coarse; editors that write in place
// change the time or the size.
type stamp struct {
	info fs.FileInfo // nil: no file
	rev  uint64      // a shared JobStore's revision; 0 for files
}

func (a stamp) same(b stamp) bool {
	if a.rev != b.rev {
		return false
	}
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.ModTime().Equal(b.info.ModTime()) && a.info.Size() == b.info.Size()
}

// stat returns the file's current stamp.
func (s *Store) stat() (stamp, error) {
	info, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return stamp{}, nil
	}
	if err != nil {
		return stamp{}, fmt.Errorf("cron: stat %s: %w", s.path, err)
	}
	return stamp{info: info}, nil
}

// Load reads the jobs. A missing file holds no jobs; a file that does not
// parse, or holds an invalid job, is an error naming the file: jobs are
// never dropped silently.
func (s *Store) Load() ([]Job, error) {
	jobs, _, err := s.load()
	return jobs, err
}

func (s *Store) load() ([]Job, stamp, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, stamp{}, nil
	}
	if err != nil {
		return nil, stamp{}, fmt.Errorf("cron: open %s: %w", s.path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, stamp{}, fmt.Errorf("cron: stat %s: %w", s.path, err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return nil, stamp{}, fmt.Errorf("cron: read %s: %w", s.path, err)
	}
	st := stamp{info: info}
	if len(bytes.TrimSpace(buf.Bytes())) == 0 {
		return nil, st, nil
	}
	var file storeFile
	dec := json.NewDecoder(&buf)
	if err := dec.Decode(&file); err != nil {
		return nil, stamp{}, fmt.Errorf("cron: %s is not a valid jobs file (fix or remove it): %w", s.path, err)
	}
	if file.Version > fileVersion {
		return nil, stamp{}, fmt.Errorf("cron: %s has version %d; this build reads version %d", s.path, file.Version, fileVersion)
	}
	if err := validateJobs(file.Jobs, s.minEvery); err != nil {
		return nil, stamp{}, fmt.Errorf("cron: %s: %w", s.path, err)
	}
	return file.Jobs, st, nil
}

// validateJobs checks every job and that no id appears twice.
func validateJobs(jobs []Job, minEvery int64) error {
	seen := make(map[string]bool, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		if err := j.validate(minEvery); err != nil {
			return fmt.Errorf("job %d (id %q): %w", i, j.ID, err)
		}
		if seen[j.ID] {
			return fmt.Errorf("job id %q appears twice", j.ID)
		}
		seen[j.ID] = true
	}
	return nil
}

// Save replaces the file with jobs: a temporary file in the same folder is
// written, synced and renamed over it, so a reader sees the old or the new
// file, never half of one.
func (s *Store) Save(jobs []Job) error {
	_, err := s.save(jobs)
	return err
}

func (s *Store) save(jobs []Job) (stamp, error) {
	if jobs == nil {
		jobs = []Job{}
	}
	data, err := json.MarshalIndent(storeFile{Version: fileVersion, Jobs: jobs}, "", "  ")
	if err != nil {
		return stamp{}, fmt.Errorf("cron: encode jobs: %w", err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return stamp{}, fmt.Errorf("cron: create %s: %w", dir, err)
	}
	tmp, err := fsutil.CreateAtomic(s.path, 0o600)
	if err != nil {
		return stamp{}, fmt.Errorf("cron: save: %w", err)
	}
	defer tmp.Abort()
	if _, err := tmp.Write(data); err != nil {
		return stamp{}, fmt.Errorf("cron: save: %w", err)
	}
	// The stamp is taken from the temporary file: after the rename it is
	// the same file, and another process's later write cannot be mistaken
	// for ours.
	info, err := tmp.Stat()
	if err != nil {
		return stamp{}, fmt.Errorf("cron: save: %w", err)
	}
	// A failed directory sync only weakens durability: the jobs file is
	// already replaced, so it is ignored.
	if err := tmp.Commit(); err != nil && !errors.Is(err, fsutil.ErrDirSync) {
		return stamp{}, fmt.Errorf("cron: save: %w", err)
	}
	return stamp{info: info}, nil
}
