package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"picoclaw"
	"picoclaw/internal/fsutil"
)

// File names inside the outbox directory.
const (
	FileName = "outbox.jsonl" // undelivered answers and their progress
	DeadName = "dead.jsonl"   // answers that failed for good, with the reason
)

// ErrClosed is returned by Put after Close.
var ErrClosed = errors.New("outbox closed")

// Deliverer sends out, skipping its first from parts (already accepted
// before a retry or a restart), and calls accepted with each part's index
// as soon as the service accepted that part, and whether it was the last
// one. It returns nil once every part was accepted; its error's kind
// decides whether the outbox retries. accepted returns once the part is
// recorded on disk, so the next part must not be sent before it returns.
type Deliverer func(ctx context.Context, out picoclaw.Outbound, from int, accepted func(part int, last bool)) error

// Options configure an Outbox. Deliver is required.
type Options struct {
	Deliver Deliverer
	Logger  *slog.Logger // nil discards
	// MinBackoff and MaxBackoff bound the wait between attempts of one
	// answer; defaults DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds one delivery attempt (which may wait for the
	// chat's rate limit between parts); default DefaultAttemptTimeout.
	AttemptTimeout time.Duration
}

// Defaults of Options.
const (
	DefaultMinBackoff     = 2 * time.Second
	DefaultMaxBackoff     = 5 * time.Minute
	DefaultAttemptTimeout = 10 * time.Minute
)

// compactAfter is how many records the file may hold before it is
// rewritten with the undelivered answers only.
const compactAfter = 4096

// entry is one undelivered answer.
type entry struct {
	id   uint64
	key  picoclaw.SessionKey // the chat: answers of one chat go in order
	out  picoclaw.Outbound
	at   time.Time
	sent int // parts accepted so far
	// saved is the parts count recorded on disk: the last part of an
	// answer is recorded by its done record, not by a sent record.
	saved int
	// ticket is the put record's: delivery waits until it is durable, so
	// an answer is never sent before its put survives a crash.
	ticket uint64
}

// Outbox is the durable outbox; safe for concurrent use.
type Outbox struct {
	dir, path, deadPath string
	opts                Options
	log                 *slog.Logger

	// gs shares fdatasyncs among concurrent appends: records are written
	// under mu, and synced after mu is released.
	gs fsutil.GroupSync

	mu          sync.Mutex
	f           *os.File // nil once closed
	buf         bytes.Buffer
	entries     map[uint64]*entry
	queues      map[picoclaw.SessionKey][]uint64 // per chat, in Put order
	working     map[picoclaw.SessionKey]bool     // the chat has a worker
	nextID      uint64
	records     int
	dead        int
	needNewline bool
	compactAt   int           // rewrite the file once it holds this many records
	changed     chan struct{} // closed and replaced when entries change
	runCtx      context.Context
	cancel      context.CancelFunc
	stopping    bool // Close began: Put still writes, but starts no worker
	wg          sync.WaitGroup
	// syncTimer syncs the done records written without waiting for
	// their sync, up to ticket lazy, unless another sync covered them.
	syncTimer *time.Timer
	lazy      uint64
}

// Open opens the outbox kept in dir (created 0700 if needed) and reads
// back the answers not yet delivered. Delivery begins with Start.
func Open(dir string, opts Options) (*Outbox, error) {
	if dir == "" {
		return nil, errors.New("outbox: open: empty directory")
	}
	if opts.Deliver == nil {
		return nil, errors.New("outbox: open: Options.Deliver is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = DefaultAttemptTimeout
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox: open: %w", err)
	}
	o := &Outbox{
		dir: dir, path: filepath.Join(dir, FileName), deadPath: filepath.Join(dir, DeadName),
		opts: opts, log: opts.Logger,
		entries: map[uint64]*entry{}, queues: map[picoclaw.SessionKey][]uint64{},
		working: map[picoclaw.SessionKey]bool{}, nextID: 1, changed: make(chan struct{}), compactAt: compactAfter,
	}
	o.removeStaleTemps()
	f, err := os.OpenFile(o.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outbox: open: %w", err)
	}
	st, err := replay(f, o.log, true)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox: open %s: %w", o.path, err)
	}
	if st.torn {
		o.needNewline = true // truncation failed: keep the next record on its own line
	}
	if o.dead, err = countLines(o.deadPath); err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox: open: %w", err)
	}
	if err := fsutil.SyncDir(dir); err != nil {
		f.Close()
		return nil, fmt.Errorf("outbox: open: %w", err)
	}
	o.f, o.records, o.nextID = f, st.records, st.maxID+1
	for _, e := range st.pending {
		o.entries[e.id] = e
		o.queues[e.key] = append(o.queues[e.key], e.id)
	}
	if n := len(st.pending); n > 0 {
		o.log.Info("outbox: answers from before the last stop are waiting for delivery", "count", n)
	}
	return o, nil
}

// removeStaleTemps deletes the temporary files of an interrupted rewrite.
func (o *Outbox) removeStaleTemps() {
	ents, err := os.ReadDir(o.dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), fsutil.TempPrefix(o.path)) {
			if err := os.Remove(filepath.Join(o.dir, e.Name())); err != nil {
				o.log.Warn("outbox: remove stale temporary file", "name", e.Name(), "err", err)
			}
		}
	}
}

// Put records out on disk (fdatasynced) and queues it for delivery behind
// the chat's earlier answers. Once Put returns nil the outbox owns out:
// it is delivered even across a crash, or dropped with a logged reason.
func (o *Outbox) Put(ctx context.Context, out picoclaw.Outbound) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("outbox: put: %w", err)
	}
	w, err := toWire(out)
	if err != nil {
		return fmt.Errorf("outbox: put: %w", err)
	}
	o.mu.Lock()
	if o.f == nil {
		o.mu.Unlock()
		return fmt.Errorf("outbox: put: %w", ErrClosed)
	}
	now := time.Now()
	id := o.nextID
	ticket, err := o.appendLocked(&record{Op: opPut, ID: id, At: now, Out: w})
	if err != nil {
		o.mu.Unlock()
		return fmt.Errorf("outbox: put: %w", err)
	}
	o.nextID++
	// Queued now, in Put order, but delivered only once durable (the
	// worker waits for ticket too).
	e := &entry{id: id, key: picoclaw.NewSessionKey(out.Channel, out.Chat), out: out, at: now, ticket: ticket}
	o.entries[id] = e
	o.queues[e.key] = append(o.queues[e.key], id)
	o.notifyLocked()
	o.spawnLocked(e.key)
	o.mu.Unlock()
	if err := o.gs.Wait(ticket, o.syncFile); err != nil {
		// Not durable: the caller delivers out itself, so the outbox
		// must not (its worker sees the same failure and skips it).
		o.forget(e)
		return fmt.Errorf("outbox: put: %w", err)
	}
	return nil
}

// Start begins delivering, in the background, every queued answer and
// each one Put later, until Close.
func (o *Outbox) Start() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.runCtx != nil || o.stopping {
		return
	}
	o.runCtx, o.cancel = context.WithCancel(context.Background())
	for key := range o.queues {
		o.spawnLocked(key)
	}
}

// Drain waits until every queued answer was delivered or dropped, or ctx
// ends.
func (o *Outbox) Drain(ctx context.Context) error {
	for {
		o.mu.Lock()
		n, ch := len(o.entries), o.changed
		o.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("outbox: drain: %d answers not delivered yet: %w", n, ctx.Err())
		case <-ch:
		}
	}
}

// Close stops delivery (an attempt in flight is cancelled; its answer
// stays on disk for the next start) and closes the file.
func (o *Outbox) Close() error {
	o.mu.Lock()
	o.stopping = true
	if o.cancel != nil {
		o.cancel()
	}
	o.mu.Unlock()
	o.wg.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	if o.syncTimer != nil {
		o.syncTimer.Stop() // the sync below covers its records
		o.syncTimer = nil
	}
	// Flush what appenders still wait for; a sync running now finishes
	// first (the file is closed only when it returns).
	serr := fsutil.DataSync(o.f)
	if serr == nil {
		o.gs.Covered()
	}
	cerr := o.f.Close()
	o.f = nil
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("outbox: close: %w", err)
	}
	return nil
}

// Stats describe the outbox for /health and `picoclaw status`.
type Stats struct {
	Pending         int       // answers not yet delivered
	Oldest          time.Time // when the oldest of them was put; zero if none
	FailedPermanent int       // answers dropped for good (lines of dead.jsonl)
}

// OldestAge is how long the oldest undelivered answer has waited at now.
func (s Stats) OldestAge(now time.Time) time.Duration {
	if s.Oldest.IsZero() {
		return 0
	}
	return max(now.Sub(s.Oldest), 0)
}

// Stats returns the current counts.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := Stats{Pending: len(o.entries), FailedPermanent: o.dead}
	for _, e := range o.entries {
		if st.Oldest.IsZero() || e.at.Before(st.Oldest) {
			st.Oldest = e.at
		}
	}
	return st
}

// notifyLocked wakes Drain. Callers hold o.mu.
func (o *Outbox) notifyLocked() {
	close(o.changed)
	o.changed = make(chan struct{})
}

// appendLocked writes r, without syncing it: the caller releases o.mu
// and then waits for the returned ticket with o.gs.Wait(ticket,
// o.syncFile), so that appends of many chats share one fdatasync and
// none is made under o.mu. Callers hold o.mu.
func (o *Outbox) appendLocked(r *record) (ticket uint64, err error) {
	o.buf.Reset()
	if o.needNewline {
		o.buf.WriteByte('\n')
	}
	if err := encodeRecord(&o.buf, r); err != nil {
		return 0, err
	}
	if _, err := o.f.Write(o.buf.Bytes()); err != nil {
		o.needNewline = true
		return 0, fmt.Errorf("write %s: %w", o.path, err)
	}
	o.needNewline = false
	o.records++
	return o.gs.Wrote(), nil
}

// syncFile fdatasyncs the file appended to now. Close and a rewrite
// mark every earlier write durable (o.gs.Covered) before they close the
// file, so a sync that fails because of them fails nobody.
func (o *Outbox) syncFile() error {
	o.mu.Lock()
	f := o.f
	o.mu.Unlock()
	if f == nil {
		return ErrClosed
	}
	if err := fsutil.DataSync(f); err != nil {
		return fmt.Errorf("fdatasync %s: %w", o.path, err)
	}
	return nil
}

// forget removes e from memory, if still there: its put was not durable,
// and Put's caller was told so.
func (o *Outbox) forget(e *entry) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.entries[e.id]; !ok {
		return
	}
	o.removeLocked(e)
}

// removeLocked drops e from entries and its chat's queue, waking Drain.
// Callers hold o.mu.
func (o *Outbox) removeLocked(e *entry) {
	delete(o.entries, e.id)
	q := o.queues[e.key]
	for i, id := range q {
		if id == e.id {
			o.queues[e.key] = append(q[:i:i], q[i+1:]...)
			break
		}
	}
	o.notifyLocked()
}
