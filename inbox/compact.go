package inbox

import (
	"bytes"
	"cmp"
	"slices"
	"time"

	"picoclaw/internal/fsutil"
)

// doneID is a done message id and when it was answered.
type doneID struct {
	id string
	at time.Time
}

// expire forgets done ids past their retention and drops messages pending
// for longer than theirs: a message unanswered for a week is not worth
// answering, and would otherwise be retried at every start.
func (b *Inbox) expire(now time.Time) {
	for id, at := range b.done {
		if now.Sub(at) > b.cfg.doneKeep {
			delete(b.done, id)
		}
	}
	if extra := len(b.done) - b.cfg.maxDone; b.cfg.maxDone > 0 && extra > 0 {
		oldest := make([]doneID, 0, len(b.done))
		for id, at := range b.done {
			oldest = append(oldest, doneID{id, at})
		}
		slices.SortFunc(oldest, func(a, c doneID) int { return a.at.Compare(c.at) })
		for _, d := range oldest[:extra] {
			delete(b.done, d.id)
		}
	}
	for id, e := range b.pending {
		if now.Sub(e.at) > b.cfg.pendingKeep {
			b.logger.Warn("inbox: dropped message pending too long",
				"id", id, "channel", e.in.Channel, "accepted", e.at)
			delete(b.pending, id)
		}
	}
}

// maybeCompact compacts the journal once it passes its thresholds. A
// failure is logged, not returned: the record that triggered it is
// written to the old journal, which stays in use, and synced there.
func (b *Inbox) maybeCompact() {
	if b.records < b.compactRecords && b.size < b.compactBytes {
		return
	}
	if err := b.compact(); err != nil {
		b.logger.Warn("inbox: compact journal", "err", err)
		// Back off so a full disk does not cost a rewrite per append.
		b.compactRecords = b.records + max(b.cfg.maxRecords/2, 1)
		b.compactBytes = b.size + max(b.cfg.maxBytes/2, 1)
	}
}

// compact rewrites the journal with only the live state: pending accepts in
// acceptance order, then the retained done ids. A crash at any point leaves
// either the old journal or the new one. Called with b.mu held.
func (b *Inbox) compact() error {
	b.expire(b.cfg.now())

	var buf bytes.Buffer
	enc := newEncoder(&buf)
	n := 0
	for _, e := range b.pendingInOrder() {
		in := e.in
		if err := encodeRecord(enc, &record{Op: opAccept, ID: in.MessageID, At: e.at, In: &in, Attempts: e.attempts}); err != nil {
			return err
		}
		n++
	}
	done := make([]doneID, 0, len(b.done))
	for id, at := range b.done {
		done = append(done, doneID{id, at})
	}
	slices.SortFunc(done, func(x, y doneID) int {
		return cmp.Or(x.at.Compare(y.at), cmp.Compare(x.id, y.id))
	})
	for _, d := range done {
		if err := encodeRecord(enc, &record{Op: opDone, ID: d.id, At: d.at}); err != nil {
			return err
		}
		n++
	}

	tmp, err := fsutil.CreateAtomic(b.path, 0o600)
	if err != nil {
		return err
	}
	defer tmp.Abort()
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		return err
	}
	// The new file's handle becomes the journal's: keeping it avoids a
	// reopen that could fail after the old file is gone. It is written
	// only under b.mu, at its end, so it needs no O_APPEND. f is nil when
	// the rename did not happen, and the old journal stays in use.
	f, commitErr := tmp.CommitOpen()
	if f == nil {
		return commitErr
	}
	old := b.f
	b.f = f
	if commitErr == nil {
		// The new journal holds every write so far (as state), synced and
		// renamed durably: nobody waits for the old one, which may be
		// closed under a running sync.
		b.gs.Covered()
	}
	if err := old.Close(); err != nil {
		b.logger.Warn("inbox: close old journal", "err", err)
	}
	b.records = n
	b.size = int64(buf.Len())
	b.clearDone() // the rewrite holds every done id in memory
	b.needNewline = false
	b.compactRecords = max(b.cfg.maxRecords, 2*n)
	b.compactBytes = max(b.cfg.maxBytes, 2*b.size)
	if commitErr != nil {
		// Renamed, but the directory sync failed: the next append retries it.
		b.dirDirty = true
		return commitErr
	}
	b.logger.Debug("inbox: compacted journal", "records", n, "bytes", b.size)
	return nil
}
