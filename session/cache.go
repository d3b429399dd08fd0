package session

import (
	"os"

	"picoclaw/internal/histcache"
)

// DefaultCacheBytes bounds the histories a Store keeps decoded, counted
// by their files' sizes.
const DefaultCacheBytes = histcache.DefaultBytes

// sameFile reports whether a and b describe the same file in the same
// state: a cached history is only used while its file is still the one it
// was read from (same inode, size and modification time), so a change
// made by another process misses.
func sameFile(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}
