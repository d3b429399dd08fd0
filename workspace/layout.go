package workspace

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"

	"picoclaw/internal/fsutil"
)

//go:embed templates/*
var templates embed.FS

// Subdirectories of a workspace. The gateway's own data (sessions,
// journal, cron jobs, received media) is not here but in the data dir
// (package datadir), out of the tools' reach.
const (
	MemoryDir = "memory"
	SkillsDir = "skills"
)

// Workspace data is personal: only its owner may read it.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// Memory returns the memory directory in dir.
func Memory(dir string) string { return filepath.Join(dir, MemoryDir) }

// MemoryFile returns the long-term memory file in dir.
func MemoryFile(dir string) string { return filepath.Join(dir, MemoryDir, "MEMORY.md") }

// Skills returns the skills directory in dir.
func Skills(dir string) string { return filepath.Join(dir, SkillsDir) }

// Init creates the workspace dir with its subdirectories and writes each
// template file that is missing. With force it also rewrites template
// files whose content differs from the template, first copying each to a
// free "<name>.bak" (then ".bak.1", …) name. Nothing else in the
// workspace is touched. created lists, relative to dir with slashes, the
// directories (ending in "/"), files and backups it made, in order.
func Init(dir string, force bool) (created []string, err error) {
	if dir == "" {
		return nil, errors.New("workspace: init: no directory given")
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("workspace: init: %w", err)
	}
	for _, sub := range []string{MemoryDir, SkillsDir} {
		p := filepath.Join(dir, sub)
		if _, err := os.Stat(p); err == nil {
			continue
		}
		if err := os.Mkdir(p, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, fmt.Errorf("workspace: init: %w", err)
		}
		created = append(created, sub+"/")
	}
	err = fs.WalkDir(templates, "templates", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := templates.ReadFile(name)
		if err != nil {
			return err
		}
		rel := name[len("templates/"):]
		made, err := placeTemplate(dir, rel, data, force)
		created = append(created, made...)
		return err
	})
	if err != nil {
		return created, fmt.Errorf("workspace: init: %w", err)
	}
	return created, nil
}

// placeTemplate writes data to dir/rel as Init describes and returns what
// it created.
func placeTemplate(dir, rel string, data []byte, force bool) ([]string, error) {
	target := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(target), dirMode); err != nil {
		return nil, err
	}
	old, err := os.ReadFile(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := writeNew(target, data); err != nil {
			return nil, err
		}
		return []string{rel}, nil
	case err != nil:
		return nil, err
	case !force || bytes.Equal(old, data):
		return nil, nil
	}
	bak, err := backup(target, old)
	if err != nil {
		return nil, err
	}
	if err := replace(target, data); err != nil {
		return nil, err
	}
	return []string{path.Join(path.Dir(rel), filepath.Base(bak)), rel}, nil
}

// backup copies old, the content of file, to the first free
// file.bak, file.bak.1, … and returns that name.
func backup(file string, old []byte) (string, error) {
	for i := 0; ; i++ {
		name := file + ".bak"
		if i > 0 {
			name += "." + strconv.Itoa(i)
		}
		err := writeNew(name, old)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return name, err
	}
}

// writeNew creates name with data, failing with fs.ErrExist rather than
// overwriting a file that appeared meanwhile.
func writeNew(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
	}
	return err
}

// replace swaps name's content for data atomically, so a crash leaves
// the old or the new file, never half of one. A failed directory sync is
// ignored: the file is already replaced, and only its durability across a
// power cut is weaker, which workspace files never promised.
func replace(name string, data []byte) error {
	if err := fsutil.WriteFileAtomic(name, data, fileMode); err != nil && !errors.Is(err, fsutil.ErrDirSync) {
		return err
	}
	return nil
}
