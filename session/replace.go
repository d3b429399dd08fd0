package session

import (
	"context"
	"fmt"
	"path/filepath"

	"picoclaw"
	"picoclaw/internal/fsutil"
)

// Replace makes msgs the whole of key's history, atomically: it writes a
// temporary file in the same directory, fsyncs it, renames it over the
// history and fsyncs the directory. A crash leaves either the old history
// or the new one, never a mix; the file is never rewritten in place.
// History compaction uses it.
func (s *Store) Replace(ctx context.Context, key picoclaw.SessionKey, msgs []picoclaw.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("session: replace %s: %w", key, err)
	}
	name, err := encodeKey(key)
	if err != nil {
		return err
	}
	data, err := encodeLines(msgs)
	if err != nil {
		return fmt.Errorf("session: replace %s: %w", key, err)
	}

	defer s.lock(key)()
	s.cache.Drop(key)
	s.forgetFile(key)

	// 0600, like Append's files. A failed directory sync fails Replace:
	// compaction must not report a history durable that a crash could undo.
	path := filepath.Join(s.dir, name+fileExt)
	if err := fsutil.WriteFileAtomic(path, data, 0o600); err != nil {
		return fmt.Errorf("session: replace %s: %w", key, err)
	}
	return nil
}
