package inbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"picoclaw/internal/fsutil"
)

// replay rebuilds the state from f. Bad lines are skipped with a warning;
// only a read error fails. A last line without its newline was being
// written when the process died, and its Accept or Done never returned, so
// it is cut off.
func (b *Inbox) replay(f *os.File) error {
	r := bufio.NewReaderSize(f, fsutil.ReplayBufferSize(f, 64<<10))
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				b.cutTornTail(f, len(line))
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("inbox: replay: %w", err)
		}
		b.size += int64(len(line))
		b.records++
		b.apply(bytes.TrimSpace(line), lineNo)
	}
}

// cutTornTail truncates the journal to its last complete line. If that
// fails the next append starts with a newline instead, which leaves the
// torn bytes as a corrupt line that replay skips.
func (b *Inbox) cutTornTail(f *os.File, n int) {
	b.logger.Warn("inbox: ignored torn last journal line", "bytes", n)
	if err := f.Truncate(b.size); err != nil {
		b.logger.Warn("inbox: truncate torn journal line", "err", err)
		b.needNewline = true
		b.size += int64(n)
		return
	}
	if err := f.Sync(); err != nil {
		b.logger.Warn("inbox: fsync truncated journal", "err", err)
	}
}

// apply replays one line. The line's text is not logged: it holds a
// user's message.
func (b *Inbox) apply(line []byte, lineNo int) {
	if len(line) == 0 {
		return
	}
	r, err := decodeRecord(line)
	if err != nil {
		b.logger.Warn("inbox: skipped corrupt journal line", "line", lineNo, "err", err)
		return
	}
	if r.ID == "" {
		b.logger.Warn("inbox: skipped journal line without id", "line", lineNo)
		return
	}
	switch r.Op {
	case opAccept:
		if r.In == nil || r.In.MessageID != r.ID {
			b.logger.Warn("inbox: skipped accept record with bad message", "line", lineNo, "id", r.ID)
			return
		}
		if b.known(r.ID) {
			return
		}
		b.seq++
		b.pending[r.ID] = &entry{in: *r.In, at: r.At, seq: b.seq, attempts: r.Attempts}
	case opAttempt:
		if e, ok := b.pending[r.ID]; ok {
			e.attempts++
		}
	case opRelease:
		if e, ok := b.pending[r.ID]; ok && e.attempts > 0 {
			e.attempts--
		}
	case opDone:
		delete(b.pending, r.ID)
		b.done[r.ID] = r.At
	default:
		b.logger.Warn("inbox: skipped journal line with unknown op", "line", lineNo, "op", r.Op)
	}
}

// appendLocked writes the waiting Done records, then r (nil: none), with
// a single write, and returns the ticket to wait for with wait once b.mu
// is released: appends of many turns share one fdatasync (group commit),
// and none is made under b.mu. With nothing to write it returns the
// latest write's ticket. The Done records are forgotten once written: a
// failed sync may lose them, which costs a duplicate answer after a
// crash, never a message. Callers hold b.mu.
func (b *Inbox) appendLocked(r *record) (uint64, error) {
	if r == nil && b.doneN == 0 {
		return b.gs.Last(), nil
	}
	b.buf.Reset()
	if b.needNewline {
		b.buf.WriteByte('\n')
	}
	b.buf.Write(b.doneBuf.Bytes())
	n := b.doneN
	if r != nil {
		if err := encodeRecord(b.enc, r); err != nil {
			return 0, err
		}
		n++
	}
	w, err := b.f.Write(b.buf.Bytes())
	b.size += int64(w)
	if err != nil {
		b.needNewline = true
		return 0, fmt.Errorf("write journal: %w", err)
	}
	b.needNewline = false
	b.records += n
	b.clearDone()
	return b.gs.Wrote(), nil
}

// wait returns once the write with ticket t is durable. Call it without
// b.mu.
func (b *Inbox) wait(t uint64) error {
	return b.gs.Wait(t, b.syncJournal)
}

// syncJournal fdatasyncs the journal (fdatasync: the size an append
// changes is still flushed; the timestamps fsync would add are not needed
// to read the journal back), and the directory after a compaction whose
// rename is not yet known durable. Close and a compaction mark earlier
// writes durable (b.gs.Covered) before closing a file, so a sync that
// fails because of them fails nobody.
func (b *Inbox) syncJournal() error {
	b.mu.Lock()
	f, dirDirty := b.f, b.dirDirty
	b.mu.Unlock()
	if f == nil {
		return ErrClosed
	}
	if err := fsutil.DataSync(f); err != nil {
		return fmt.Errorf("fdatasync journal: %w", err)
	}
	if dirDirty {
		if err := fsutil.SyncDir(b.dir); err != nil {
			return err
		}
		b.mu.Lock()
		if b.f == f {
			b.dirDirty = false
		}
		b.mu.Unlock()
	}
	return nil
}

// clearDone forgets the waiting Done records once they are durable (or
// part of a compacted journal).
func (b *Inbox) clearDone() {
	b.doneBuf.Reset()
	b.doneN = 0
}

// encodeRecord writes r in the current wire format.
func encodeRecord(enc *json.Encoder, r *record) error {
	w, err := toWire(r)
	if err == nil {
		err = enc.Encode(w)
	}
	if err != nil {
		return fmt.Errorf("encode record: %w", err)
	}
	return nil
}
