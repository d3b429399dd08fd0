package fsutil

import "sync"

// GroupSync shares fdatasyncs among concurrent appenders of one log (group
// commit). An appender writes its record under the log's own lock, takes
// a ticket with Wrote under that same lock, releases the lock, and then
// waits with Wait for a sync that began after its write. One goroutine
// syncs at a time; those that arrive meanwhile wait and share the next
// sync, so N appenders cost about two fdatasyncs instead of N, and no
// lock that orders writes is held while the disk flushes.
//
// Lock order: the log's lock, then GroupSync's (Wrote and Covered take it
// under the log's lock; Wait calls sync without holding it).
//
// The zero value is ready to use.
type GroupSync struct {
	mu      sync.Mutex
	cond    *sync.Cond
	written uint64 // tickets handed out
	synced  uint64 // every ticket ≤ synced is durable
	syncing bool
	// failed holds the ticket ranges whose sync failed: after a failed
	// fdatasync the kernel may have dropped those pages, so a later
	// successful sync does not make them durable. The most recent few
	// are kept; a waiter is woken right after its range fails.
	failed []failedRange
}

type failedRange struct {
	from, to uint64 // tickets from < t ≤ to
	err      error
}

const keepFailed = 16

// Wrote records a write to the log and returns its ticket for Wait. Call
// it under the lock that orders the log's writes, right after the write.
func (g *GroupSync) Wrote() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.written++
	return g.written
}

// Last returns the ticket of the latest write, for a caller that must
// wait for every write so far (a flush that had nothing new to write).
func (g *GroupSync) Last() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.written
}

// Synced returns the ticket up to which every write is durable.
func (g *GroupSync) Synced() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.synced
}

// Covered marks every write so far durable: the caller synced the log
// itself (under the log's lock, e.g. before closing it) or replaced it
// with a synced rewrite holding the same state.
func (g *GroupSync) Covered() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.synced = g.written
	g.broadcastLocked()
}

// Wait returns once ticket is durable. When no sync is running, the
// caller runs sync itself, which must flush every write made before it
// was called (it takes the log's lock only to read which file to sync).
// A failed sync is returned to every waiter whose write it should have
// flushed, unless Covered made the write durable meanwhile.
func (g *GroupSync) Wait(ticket uint64, sync func() error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for {
		if err := g.failedLocked(ticket); err != nil {
			return err
		}
		if g.synced >= ticket {
			return nil
		}
		if g.syncing {
			g.condLocked().Wait()
			continue
		}
		g.syncing = true
		from, target := g.synced, g.written
		g.mu.Unlock()
		err := sync()
		g.mu.Lock()
		g.syncing = false
		switch {
		case err == nil:
			g.synced = max(g.synced, target)
		case g.synced < target:
			// Covered may have run meanwhile (a rewrite replaced the file
			// being synced): only what it did not cover failed.
			g.failed = append(g.failed, failedRange{from: max(from, g.synced), to: target, err: err})
			if len(g.failed) > keepFailed {
				g.failed = g.failed[len(g.failed)-keepFailed:]
			}
		}
		g.broadcastLocked()
	}
}

func (g *GroupSync) failedLocked(ticket uint64) error {
	for i := len(g.failed) - 1; i >= 0; i-- {
		if r := g.failed[i]; ticket > r.from && ticket <= r.to {
			return r.err
		}
	}
	return nil
}

func (g *GroupSync) condLocked() *sync.Cond {
	if g.cond == nil {
		g.cond = sync.NewCond(&g.mu)
	}
	return g.cond
}

func (g *GroupSync) broadcastLocked() {
	if g.cond != nil {
		g.cond.Broadcast()
	}
}
