package sandbox

import (
	"os"
	"path/filepath"
	"slices"
)

// grant is one path to grant and whether it is a directory.
type grant struct {
	path string
	dir  bool
}

// carve lists what to grant so that root is reachable except for the
// hidden paths under it. Landlock only adds rights, it cannot take a
// subtree back out of a granted one, so a directory holding a hidden path
// is granted entry by entry instead, recursively. Symbolic links inside
// such a directory are left out: a rule on a link grants its target.
// Missing paths are skipped.
func carve(root string, hidden []string) []grant {
	info, err := os.Stat(root)
	if err != nil {
		return nil
	}
	if slices.ContainsFunc(hidden, func(h string) bool { return within(root, h) }) {
		return nil // root itself is hidden or lies inside a hidden path
	}
	if !info.IsDir() || !slices.ContainsFunc(hidden, func(h string) bool { return within(h, root) }) {
		return []grant{{root, info.IsDir()}}
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []grant
	for _, e := range entries {
		if e.Type()&os.ModeSymlink != 0 {
			continue
		}
		out = append(out, carve(filepath.Join(root, e.Name()), hidden)...)
	}
	return out
}
