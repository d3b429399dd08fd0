package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"picoclaw"
	"picoclaw/internal/fsutil"
	"picoclaw/internal/histcache"
)

// Store is a picoclaw.SessionStore backed by a directory of JSONL files.
// It is safe for concurrent use; appends to one key are serialised, appends
// to different keys run in parallel.
type Store struct {
	dir    string
	logger *slog.Logger
	now    func() time.Time

	mu    sync.Mutex
	locks map[picoclaw.SessionKey]*keyLock // only keys in use: see lock

	cache *histcache.Cache[os.FileInfo]
	files *openFiles
	// write appends to a session file; tests inject faults (a full
	// disk) here.
	write func(f *os.File, b []byte) (int, error)
}

var _ picoclaw.SessionStore = (*Store)(nil)

// Open returns a Store keeping its files in dir, creating dir (mode 0700)
// if needed. A nil logger discards warnings.
func Open(dir string, logger *slog.Logger) (*Store, error) {
	if dir == "" {
		return nil, errors.New("session: open: empty directory")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("session: open: %w", err)
	}
	return &Store{
		dir:    dir,
		logger: logger,
		now:    time.Now,
		locks:  make(map[picoclaw.SessionKey]*keyLock),
		cache:  histcache.New[os.FileInfo](DefaultCacheBytes),
		files:  newOpenFiles(maxOpenFiles),
		write:  (*os.File).Write,
	}, nil
}

// Dir returns the directory holding the session files.
func (s *Store) Dir() string { return s.dir }

// keyLock serialises the file operations of one key.
type keyLock struct {
	mu   sync.Mutex
	refs int // holders and waiters; guarded by Store.mu
}

// lock takes key's lock and returns the function that releases it. A
// key's entry lives only while someone holds or waits for it, so the map
// does not grow with every chat ever seen.
func (s *Store) lock(key picoclaw.SessionKey) (unlock func()) {
	s.mu.Lock()
	l := s.locks[key]
	if l == nil {
		l = new(keyLock)
		s.locks[key] = l
	}
	l.refs++
	s.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		s.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(s.locks, key)
		}
		s.mu.Unlock()
	}
}

func (s *Store) path(key picoclaw.SessionKey) (string, error) {
	name, err := encodeKey(key)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.dir, name+fileExt), nil
}

// Append writes msgs to the end of key's history as one write, then
// fdatasyncs. If a previous crash left a torn last line, a newline is written
// first so that the new messages start on a line of their own.
func (s *Store) Append(ctx context.Context, key picoclaw.SessionKey, msgs ...picoclaw.Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("session: append %s: %w", key, err)
	}
	if len(msgs) == 0 {
		return nil
	}
	path, err := s.path(key)
	if err != nil {
		return err
	}
	data, err := encodeLines(msgs)
	if err != nil {
		return fmt.Errorf("session: append %s: %w", key, err)
	}

	defer s.lock(key)()

	f, before, err := s.openForAppend(key, path)
	if err != nil {
		return fmt.Errorf("session: append %s: %w", key, err)
	}
	after, prefixed, err := s.appendTo(f, before, data)
	if err != nil {
		f.Close()
		s.cache.Drop(key)
		return fmt.Errorf("session: append %s: %w", key, err)
	}
	s.remember(key, data, before, after, prefixed)
	s.files.put(key, f) // synced: kept open for the chat's next append
	if before.Size() == 0 {
		// The file may be new (told by its size rather than by a stat
		// before the open, one syscall per append fewer): make its
		// directory entry durable too.
		if err := fsutil.SyncDir(s.dir); err != nil {
			return fmt.Errorf("session: append %s: %w", key, err)
		}
	}
	return nil
}

// openForAppend returns key's file at path open for appending, and its
// state: the file the last append kept open while path still names it,
// else the file opened (created if need be) afresh.
func (s *Store) openForAppend(key picoclaw.SessionKey, path string) (*os.File, os.FileInfo, error) {
	if f := s.files.take(key); f != nil {
		fi, err := f.Stat()
		if pfi, perr := os.Stat(path); err == nil && perr == nil && os.SameFile(fi, pfi) {
			return f, fi, nil
		}
		f.Close() // renamed, replaced or deleted meanwhile
	}
	// O_NONBLOCK and appendTo's regular-file check: a FIFO or device put
	// in a session file's place must fail the write, not block it or
	// fill the disk.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat: %w", err)
	}
	return f, fi, nil
}

// forgetFile closes the file an append kept open for key, if any: its
// history is about to be renamed or replaced. Callers hold key's lock.
func (s *Store) forgetFile(key picoclaw.SessionKey) {
	if f := s.files.take(key); f != nil {
		f.Close()
	}
}

// Close closes the session files kept open between appends. The Store
// stays usable: a later append opens its file again.
func (s *Store) Close() error {
	if err := s.files.closeAll(); err != nil {
		return fmt.Errorf("session: close: %w", err)
	}
	return nil
}

// remember brings the cached history of key up to date with lines, just
// appended to its file (before → after): the lines are decoded as Load
// would decode them. A torn line the append had to close (prefixed)
// makes the file's history differ from the cache's, which is dropped.
func (s *Store) remember(key picoclaw.SessionKey, lines []byte, before, after os.FileInfo, prefixed bool) {
	if prefixed || after == nil {
		s.cache.Drop(key)
		return
	}
	var msgs []picoclaw.Message
	for line := range bytes.Lines(lines) {
		var m picoclaw.Message
		if err := json.Unmarshal(line, &m); err != nil {
			s.cache.Drop(key)
			return
		}
		msgs = append(msgs, m)
	}
	if before.Size() == 0 {
		s.cache.Put(key, after, after.Size(), msgs)
		return
	}
	s.cache.Extend(key, func(fi os.FileInfo) bool { return sameFile(fi, before) }, after, after.Size()-before.Size(), msgs)
}

// appendTo appends data to f, which was as before, and fdatasyncs it,
// returning the file after (nil if it could not be read) and whether a
// newline had to go first to close a torn last line.
func (s *Store) appendTo(f *os.File, before os.FileInfo, data []byte) (after os.FileInfo, prefixed bool, err error) {
	if !before.Mode().IsRegular() {
		return nil, false, fmt.Errorf("%s is not a regular file (mode %v)", f.Name(), before.Mode().Type())
	}
	if size := before.Size(); size > 0 {
		// Opened read-write so the last byte can be checked with pread.
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			return nil, false, fmt.Errorf("read last byte: %w", err)
		}
		if last[0] != '\n' {
			data = append([]byte{'\n'}, data...)
			prefixed = true
		}
	}
	if _, err := s.write(f, data); err != nil {
		return nil, false, fmt.Errorf("write: %w", err)
	}
	// fdatasync: the appended bytes and the new size are flushed; the
	// timestamps fsync would add are not needed to read the history back.
	if err := fsutil.DataSync(f); err != nil {
		return nil, false, fmt.Errorf("fdatasync: %w", err)
	}
	after, _ = f.Stat()
	return after, prefixed, nil
}

// Load returns key's history, oldest first, or nil if there is none. A
// torn last line (from a crash mid-write) and corrupt lines are skipped
// and reported in the log; they never fail the load.
func (s *Store) Load(ctx context.Context, key picoclaw.SessionKey) ([]picoclaw.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("session: load %s: %w", key, err)
	}
	path, err := s.path(key)
	if err != nil {
		return nil, err
	}
	unlock := s.lock(key)
	if fi, err := os.Stat(path); err == nil {
		if msgs, held, _, ok := s.cache.Get(key); ok && sameFile(held, fi) {
			unlock()
			return msgs, nil
		} else if ok {
			s.cache.Drop(key) // the file changed under it
		}
	}
	data, fi, err := readFile(path)
	unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session: load %s: %w", key, err)
	}
	whole := int64(len(data)) == fi.Size() // else another process appended meanwhile

	msgs := make([]picoclaw.Message, 0, bytes.Count(data, []byte{'\n'}))
	var corrupt int
	for lineNo := 1; len(data) > 0; lineNo++ {
		line, rest, complete := bytes.Cut(data, []byte{'\n'})
		data = rest
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !complete {
			s.logger.Warn("session: skipping torn last line (interrupted write)",
				"session", key, "line", lineNo, "bytes", len(line))
			break
		}
		var msg picoclaw.Message
		if err := json.Unmarshal(line, &msg); err != nil {
			corrupt++
			s.logger.Warn("session: skipping corrupt line",
				"session", key, "line", lineNo, "err", err)
			continue
		}
		msgs = append(msgs, msg)
	}
	if corrupt > 0 {
		s.logger.Warn("session: history has corrupt lines", "session", key, "corrupt", corrupt, "loaded", len(msgs))
	}
	if whole {
		s.cache.Put(key, fi, fi.Size(), msgs)
	}
	return msgs, nil
}

// readFile reads the file at path and describes it as it was opened.
func readFile(path string) ([]byte, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		// A device such as /dev/zero would be read without end.
		return nil, nil, fmt.Errorf("%s is not a regular file (mode %v)", path, fi.Mode().Type())
	}
	data := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			return data, fi, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if len(data) == cap(data) {
			data = slices.Grow(data, 4096)
		}
	}
}

// Reset moves key's history aside to "<name>.<unix-time>.jsonl.bak" in the
// same directory, so that the next Load is empty. History is never deleted.
func (s *Store) Reset(ctx context.Context, key picoclaw.SessionKey) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("session: reset %s: %w", key, err)
	}
	name, err := encodeKey(key)
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, name+fileExt)

	defer s.lock(key)()
	s.forgetFile(key)

	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("session: reset %s: %w", key, err)
	}
	archive, err := s.archivePath(name)
	if err != nil {
		return fmt.Errorf("session: reset %s: %w", key, err)
	}
	s.cache.Drop(key)
	if err := os.Rename(path, archive); err != nil {
		return fmt.Errorf("session: reset %s: archive: %w", key, err)
	}
	if err := fsutil.SyncDir(s.dir); err != nil {
		return fmt.Errorf("session: reset %s: %w", key, err)
	}
	return nil
}

// archivePath picks an unused archive name; rename would silently replace
// an archive made in the same second.
func (s *Store) archivePath(name string) (string, error) {
	stamp := strconv.FormatInt(s.now().Unix(), 10)
	for i := 0; i < 1000; i++ {
		suffix := stamp
		if i > 0 {
			suffix += "-" + strconv.Itoa(i)
		}
		p := filepath.Join(s.dir, name+"."+suffix+archiveExt)
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			return p, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("no free archive name for %s", name)
}

// Keys lists the sessions that have a (non-archived) history, sorted.
func (s *Store) Keys() ([]picoclaw.SessionKey, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("session: list keys: %w", err)
	}
	var keys []picoclaw.SessionKey
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, fileExt) {
			continue
		}
		key, err := decodeKey(strings.TrimSuffix(name, fileExt))
		if err != nil {
			s.logger.Warn("session: ignoring unexpected file", "file", name, "err", err)
			continue
		}
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys, nil
}

// encodeLines encodes msgs as JSONL, one record per line.
func encodeLines(msgs []picoclaw.Message) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range msgs {
		// Encode adds the trailing newline that ends each record.
		if err := enc.Encode(&msgs[i]); err != nil {
			return nil, fmt.Errorf("encode message: %w", err)
		}
	}
	return buf.Bytes(), nil
}
