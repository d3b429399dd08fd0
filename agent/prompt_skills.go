package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"picoclaw/workspace"
)

// skillsCache keeps the workspace's skill list for the system prompt,
// built again only when something it was built from changed: the skills
// directory (a skill added or removed changes its modification time) or
// a skill's SKILL.md (its time or size; a missing one counts too, so a
// SKILL.md written later is seen). Checking costs a stat per skill instead
// of listing the directory and reading every SKILL.md on every turn.
type skillsCache struct {
	mu     sync.Mutex
	valid  bool
	stamps []fileStamp // the skills directory first, then each SKILL.md
	text   string
}

// fileStamp is what a file looked like: absent, or its time and size.
type fileStamp struct {
	path    string
	missing bool
	mtime   time.Time
	size    int64
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileStamp{path: path, missing: true}, nil
	}
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{path: path, mtime: fi.ModTime(), size: fi.Size()}, nil
}

// summary returns workspace.SkillsSummary(dir), from the cache while it is
// current.
func (c *skillsCache) summary(dir string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.valid && c.current() {
		return c.text, nil
	}
	c.valid = false
	// Stamped before reading: a change made meanwhile shows at the next
	// check.
	stamps, err := skillStamps(dir)
	if err != nil {
		return workspace.SkillsSummary(dir)
	}
	text, err := workspace.SkillsSummary(dir)
	if err != nil {
		return "", err
	}
	c.valid, c.stamps, c.text = true, stamps, text
	return text, nil
}

// current reports whether no stamped file changed.
func (c *skillsCache) current() bool {
	for _, s := range c.stamps {
		now, err := stampOf(s.path)
		if err != nil || now.missing != s.missing || !now.mtime.Equal(s.mtime) || now.size != s.size {
			return false
		}
	}
	return true
}

// skillStamps stamps the skills directory and the SKILL.md of each
// directory in it that SkillsSummary would look at.
func skillStamps(dir string) ([]fileStamp, error) {
	root := workspace.Skills(dir)
	st, err := stampOf(root)
	if err != nil {
		return nil, err
	}
	stamps := []fileStamp{st}
	if st.missing {
		return stamps, nil
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		s, err := stampOf(filepath.Join(root, e.Name(), "SKILL.md"))
		if err != nil {
			return nil, err
		}
		stamps = append(stamps, s)
	}
	return stamps, nil
}
