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
	"picoclaw/internal/fsutil"
)

// ErrClosed is returned by Accept and Done after Close.
var ErrClosed = errors.New("inbox closed")

const (
	journalName = "journal.jsonl"
	// legacyTmpPrefix began the temporary files of compactions before
	// they were made by fsutil; a crash may have left one behind.
	legacyTmpPrefix = journalName + ".tmp-"
)

// config holds the limits; tests shrink them and drive the clock.
type config struct {
	maxRecords  int           // compact when the journal has this many lines
	maxBytes    int64         // … or this many bytes
	doneKeep    time.Duration // how long a done id is remembered
	maxDone     int           // … and how many at most, newest kept
	pendingKeep time.Duration // how long an unanswered message is kept
	doneDelay   time.Duration // how long a Done record may wait for its write
	now         func() time.Time
}

func defaultConfig() config {
	return config{
		maxRecords: 10_000,
		maxBytes:   4 << 20,
		doneKeep:   24 * time.Hour,
		// DingTalk redelivers within about a minute; a cap keeps a busy
		// bot's memory and journal bounded (a 10-minute soak at 50/s grew
		// the heap by 13 MB without it).
		maxDone:     20_000,
		pendingKeep: 7 * 24 * time.Hour,
		doneDelay:   DoneDelay,
		now:         time.Now,
	}
}

// DoneDelay bounds how long a Done record waits to be written: it goes
// out with the next Accept, or on its own this long after Done, or at
// Close. A kill -9 within that window loses it, and the message is
// answered once more after the restart.
const DoneDelay = 100 * time.Millisecond

// entry is a pending message; seq keeps acceptance order.
type entry struct {
	in  picoclaw.Inbound
	at  time.Time
	seq uint64
	// attempts counts the turns started for the message (see Attempt).
	attempts int
	// ticket is the accept record's: a repeated Accept of the message
	// waits until it is durable too.
	ticket uint64
}

// Inbox is the durable inbox. It is safe for concurrent use. Records are
// written under the lock and fdatasynced after it is released, one sync
// shared by every append that arrived meanwhile (an Accept from the
// stream reader, Attempts of turns starting in other chats). Done records
// are grouped further
// (see DoneDelay): a lost one costs a duplicate answer, not a lost one.
type Inbox struct {
	dir    string
	path   string
	logger *slog.Logger
	cfg    config

	// gs shares fdatasyncs among concurrent appends (group commit):
	// records are written under mu and synced after mu is released.
	gs fsutil.GroupSync

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

	// Done records not yet written, as journal lines; they go out ahead of
	// the next Accept's record, or when doneTimer fires, or at Close.
	doneBuf   bytes.Buffer
	doneEnc   *json.Encoder
	doneN     int
	doneTimer *time.Timer
	// lazy is the ticket of the latest record written without waiting
	// for its sync (an attempt): doneTimer syncs it unless a sync already
	// covered it.
	lazy uint64
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
	b.enc = newEncoder(&b.buf)
	b.doneEnc = newEncoder(&b.doneBuf)
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
	if err := fsutil.SyncDir(dir); err != nil {
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
		if n := e.Name(); strings.HasPrefix(n, fsutil.TempPrefix(journalName)) || strings.HasPrefix(n, legacyTmpPrefix) {
			if err := os.Remove(filepath.Join(b.dir, e.Name())); err != nil {
				b.logger.Warn("inbox: remove stale temporary file", "name", e.Name(), "err", err)
			}
		}
	}
}

// Accept records in as accepted and fdatasyncs the journal before
// returning, together with every Done record still waiting. If in.MessageID was accepted before (pending, or done within the
// retention) it writes nothing and returns false.
func (b *Inbox) Accept(in picoclaw.Inbound) (isNew bool, err error) {
	id := in.MessageID
	if id == "" {
		return false, errors.New("inbox: accept: empty message id")
	}
	b.mu.Lock()
	if b.f == nil {
		b.mu.Unlock()
		return false, fmt.Errorf("inbox: accept %s: %w", id, ErrClosed)
	}
	if b.known(id) {
		// Accepted before; its record may still be on its way to the
		// disk, and this copy is acked only once it is there.
		var t uint64
		if e, ok := b.pending[id]; ok {
			t = e.ticket
		}
		b.mu.Unlock()
		if err := b.wait(t); err != nil {
			return false, fmt.Errorf("inbox: accept %s: %w", id, err)
		}
		return false, nil
	}
	now := b.cfg.now()
	rec := in // only a new message pays for the copy the encoder needs
	t, err := b.appendLocked(&record{Op: opAccept, ID: id, At: now, In: &rec})
	if err != nil {
		b.mu.Unlock()
		return false, fmt.Errorf("inbox: accept %s: %w", id, err)
	}
	b.seq++
	e := &entry{in: cloneInbound(in), at: now, seq: b.seq, ticket: t}
	b.pending[id] = e
	b.maybeCompact()
	b.mu.Unlock()
	if err := b.wait(t); err != nil {
		// Not durable, so not accepted: the frame is not acked, and
		// DingTalk's redelivery is accepted afresh.
		b.mu.Lock()
		if b.pending[id] == e {
			delete(b.pending, id)
		}
		b.mu.Unlock()
		return false, fmt.Errorf("inbox: accept %s: %w", id, err)
	}
	return true, nil
}

// Done records that the answer to messageID has been delivered. Pending
// and Seen reflect it at once; the record reaches the disk with the next
// Accept, at most DoneDelay later, or at Close, whichever comes first.
// Marking an id done twice is a no-op; an id never accepted is recorded
// anyway so that a later delivery of it is recognised by Seen.
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
	if err := encodeRecord(b.doneEnc, &record{Op: opDone, ID: messageID, At: now}); err != nil {
		return fmt.Errorf("inbox: done %s: %w", messageID, err)
	}
	b.doneN++
	b.syncLaterLocked(0)
	delete(b.pending, messageID)
	b.done[messageID] = now
	return nil
}

// Flush writes and fdatasyncs the Done records still waiting.
func (b *Inbox) Flush() error {
	b.mu.Lock()
	if b.f == nil {
		b.mu.Unlock()
		return fmt.Errorf("inbox: flush: %w", ErrClosed)
	}
	t, err := b.appendLocked(nil)
	if err == nil {
		b.maybeCompact()
	}
	b.mu.Unlock()
	if err == nil {
		err = b.wait(t)
	}
	if err != nil {
		return fmt.Errorf("inbox: flush: %w", err)
	}
	return nil
}

// syncLaterLocked makes sure the records not yet durable reach the disk
// within DoneDelay: Done records not yet written, and the written record
// with ticket (0: none) that nobody waits for. The next Accept's sync
// usually comes first and covers them. Callers hold b.mu.
func (b *Inbox) syncLaterLocked(ticket uint64) {
	b.lazy = max(b.lazy, ticket)
	if b.doneTimer == nil {
		b.doneTimer = time.AfterFunc(b.cfg.doneDelay, b.flushDoneLater)
	}
}

// flushDoneLater is doneTimer's function: it writes the waiting Done
// records and syncs them with the attempt records nobody waited for. A
// failure leaves the Done records waiting for the next Accept, Done,
// Flush or Close.
func (b *Inbox) flushDoneLater() {
	b.mu.Lock()
	b.doneTimer = nil
	if b.f == nil {
		b.mu.Unlock()
		return
	}
	n := b.doneN
	if b.doneN == 0 && b.gs.Synced() >= b.lazy {
		b.mu.Unlock() // an Accept's sync covered them: nothing to do
		return
	}
	t, err := b.appendLocked(nil)
	if err == nil {
		b.maybeCompact()
	}
	b.mu.Unlock()
	if err == nil {
		err = b.wait(t)
	}
	if err != nil {
		b.logger.Warn("inbox: write answered records; a crash now would answer them again", "records", n, "err", err)
	}
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

// Close writes the Done records still waiting and closes the journal;
// later calls to Accept and Done fail with ErrClosed.
func (b *Inbox) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.f == nil {
		return nil
	}
	if b.doneTimer != nil {
		b.doneTimer.Stop()
		b.doneTimer = nil
	}
	_, flushErr := b.appendLocked(nil)
	// Flush what appenders still wait for; a sync running now finishes
	// first (the file is closed only when it returns).
	if flushErr == nil {
		flushErr = fsutil.DataSync(b.f)
		if flushErr == nil && b.dirDirty {
			flushErr = fsutil.SyncDir(b.dir)
		}
		if flushErr == nil {
			b.gs.Covered()
		}
	}
	err := b.f.Close()
	b.f = nil
	if err := errors.Join(flushErr, err); err != nil {
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
