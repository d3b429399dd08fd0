package inbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"picoclaw"
)

// ErrClosed is returned by Accept and Done after Close.
var ErrClosed = errors.New("inbox closed")

const (
	journalName = "journal.jsonl"
	tmpPrefix   = journalName + ".tmp-"
)

// config holds the limits; tests shrink them and drive the clock.
type config struct {
	maxRecords  int           // compact when the journal has this many lines
	maxBytes    int64         // … or this many bytes
	doneKeep    time.Duration // how long a done id is remembered
	pendingKeep time.Duration // how long an unanswered message is kept
	now         func() time.Time
}

func defaultConfig() config {
	return config{
		maxRecords:  10_000,
		maxBytes:    4 << 20,
		doneKeep:    24 * time.Hour,
		pendingKeep: 7 * 24 * time.Hour,
		now:         time.Now,
	}
}

// entry is a pending message; seq keeps acceptance order.
type entry struct {
	in  picoclaw.Inbound
	at  time.Time
	seq uint64
}

// Inbox is the durable inbox. It is safe for concurrent use. Every write
// holds the lock through its fsync: Accept comes from one stream reader and
// Done at the end of a turn, so simplicity wins over group commit here.
type Inbox struct {
	dir    string
	path   string
	logger *slog.Logger
	cfg    config

	mu      sync.Mutex
	f       *os.File // the journal, open for appending; nil once closed
	pending map[string]*entry
	done    map[string]time.Time
	seq     uint64

	records int   // lines in the journal
	size    int64 // bytes in the journal
	// Compaction thresholds; raised after a compaction that stays large so
	// a journal full of recent done ids is not rewritten on every append.
	compactRecords int
	compactBytes   int64
	// needNewline: the file may end in a partial line (a failed write), so
	// the next append starts with "\n" to keep its record on its own line.
	needNewline bool
	// dirDirty: a compaction's rename is not yet known durable; appends
	// fsync the directory before reporting success.
	dirDirty bool

	buf bytes.Buffer
	enc *json.Encoder
}

// Open opens the inbox kept in dir (normally <workspace>/inbox), creating
// dir with mode 0700 if needed, and replays its journal. A nil logger
// discards warnings.
func Open(dir string, logger *slog.Logger) (*Inbox, error) {
	return open(dir, logger, defaultConfig())
}

func open(dir string, logger *slog.Logger, cfg config) (*Inbox, error) {
	if dir == "" {
		return nil, errors.New("inbox: open: empty directory")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("inbox: open: %w", err)
	}
	b := &Inbox{
		dir:            dir,
		path:           filepath.Join(dir, journalName),
		logger:         logger,
		cfg:            cfg,
		pending:        make(map[string]*entry),
		done:           make(map[string]time.Time),
		compactRecords: cfg.maxRecords,
		compactBytes:   cfg.maxBytes,
	}
	b.enc = json.NewEncoder(&b.buf)
	b.enc.SetEscapeHTML(false)
	b.removeStaleTemps()

	f, err := os.OpenFile(b.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("inbox: open: %w", err)
	}
	if err := b.replay(f); err != nil {
		f.Close()
		return nil, err
	}
	// The journal may have just been created: make its name durable.
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("inbox: open: %w", err)
	}
	b.f = f
	b.expire(cfg.now())
	b.maybeCompact()
	return b, nil
}

// removeStaleTemps deletes temporary files left by a compaction that was
// interrupted before its rename.
func (b *Inbox) removeStaleTemps() {
	ents, err := os.ReadDir(b.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.Remove(filepath.Join(b.dir, e.Name())); err != nil {
				b.logger.Warn("inbox: remove stale temporary file", "name", e.Name(), "err", err)
			}
		}
	}
}

// Accept records in as accepted and fsyncs the journal before returning.
// If in.MessageID was accepted before (pending, or done within the
// retention) it writes nothing and returns false.
func (b *Inbox) Accept(in picoclaw.Inbound) (isNew bool, err error) {
	id := in.MessageID
	if id == "" {
		return false, errors.New("inbox: accept: empty message id")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f == nil {
		return false, fmt.Errorf("inbox: accept %s: %w", id, ErrClosed)
	}
	if b.known(id) {
		return false, nil
	}
	now := b.cfg.now()
	rec := in // only a new message pays for the copy the encoder needs
	if err := b.append(&record{Op: opAccept, ID: id, At: now, In: &rec}); err != nil {
		return false, fmt.Errorf("inbox: accept %s: %w", id, err)
	}
	b.seq++
	b.pending[id] = &entry{in: cloneInbound(in), at: now, seq: b.seq}
	b.maybeCompact()
	return true, nil
}

// Done records that the answer to messageID has been delivered, fsyncing
// the journal. Marking an id done twice is a no-op; an id never accepted
// is recorded anyway so that a later delivery of it is recognised by Seen.
func (b *Inbox) Done(messageID string) error {
	if messageID == "" {
		return errors.New("inbox: done: empty message id")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f == nil {
		return fmt.Errorf("inbox: done %s: %w", messageID, ErrClosed)
	}
	if _, ok := b.done[messageID]; ok {
		return nil
	}
	now := b.cfg.now()
	if err := b.append(&record{Op: opDone, ID: messageID, At: now}); err != nil {
		return fmt.Errorf("inbox: done %s: %w", messageID, err)
	}
	delete(b.pending, messageID)
	b.done[messageID] = now
	b.maybeCompact()
	return nil
}

// Pending returns the accepted messages not yet done, in acceptance order.
func (b *Inbox) Pending() []picoclaw.Inbound {
	b.mu.Lock()
	defer b.mu.Unlock()
	ents := b.pendingInOrder()
	out := make([]picoclaw.Inbound, len(ents))
	for i, e := range ents {
		out[i] = cloneInbound(e.in)
	}
	return out
}

// Seen reports whether messageID was accepted, pending or done.
func (b *Inbox) Seen(messageID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.known(messageID)
}

// Close closes the journal. Every record is already on disk; later calls
// to Accept and Done fail with ErrClosed.
func (b *Inbox) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f == nil {
		return nil
	}
	err := b.f.Close()
	b.f = nil
	if err != nil {
		return fmt.Errorf("inbox: close: %w", err)
	}
	return nil
}

func (b *Inbox) known(id string) bool {
	if _, ok := b.pending[id]; ok {
		return true
	}
	_, ok := b.done[id]
	return ok
}

func (b *Inbox) pendingInOrder() []*entry {
	ents := make([]*entry, 0, len(b.pending))
	for _, e := range b.pending {
		ents = append(ents, e)
	}
	slices.SortFunc(ents, func(x, y *entry) int {
		switch {
		case x.seq < y.seq:
			return -1
		case x.seq > y.seq:
			return 1
		}
		return 0
	})
	return ents
}

// cloneInbound copies the attachment list so callers cannot change the
// inbox's copy through it.
func cloneInbound(in picoclaw.Inbound) picoclaw.Inbound {
	in.Attachments = slices.Clone(in.Attachments)
	return in
}
