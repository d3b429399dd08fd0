package session

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"picoclaw"
)

// tmpPattern names the temporary files of Replace; Keys ignores them since
// they do not end in ".jsonl".
const tmpPattern = ".jsonl.tmp-*"

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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range msgs {
		if err := enc.Encode(&msgs[i]); err != nil {
			return fmt.Errorf("session: replace %s: encode message: %w", key, err)
		}
	}

	defer s.lock(key).Unlock()
	s.cache.drop(key)

	tmp, err := os.CreateTemp(s.dir, name+tmpPattern)
	if err != nil {
		return fmt.Errorf("session: replace %s: %w", key, err)
	}
	tmpName := tmp.Name()
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	// CreateTemp makes the file 0600, like Append does.
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("session: replace %s: write: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("session: replace %s: fsync: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("session: replace %s: close: %w", key, err)
	}
	if err := os.Rename(tmpName, filepath.Join(s.dir, name+fileExt)); err != nil {
		return fmt.Errorf("session: replace %s: rename: %w", key, err)
	}
	committed = true
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("session: replace %s: %w", key, err)
	}
	return nil
}
