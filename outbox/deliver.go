package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"picoclaw"
	"picoclaw/internal/backoff"
	"picoclaw/internal/fsutil"
	"picoclaw/internal/stack"
)

// spawnLocked starts the chat's worker unless it runs or delivery has not
// started. Callers hold o.mu.
func (o *Outbox) spawnLocked(key picoclaw.SessionKey) {
	if o.runCtx == nil || o.stopping || o.working[key] || len(o.queues[key]) == 0 {
		return
	}
	o.working[key] = true
	o.wg.Add(1)
	go o.work(o.runCtx, key)
}

// head returns the chat's first undelivered answer, or nil after marking
// the worker gone (under the same lock as Put's check, so no answer is
// left without a worker).
func (o *Outbox) head(key picoclaw.SessionKey) *entry {
	for {
		o.mu.Lock()
		q := o.queues[key]
		if len(q) == 0 {
			delete(o.queues, key)
			delete(o.working, key)
			o.mu.Unlock()
			return nil
		}
		e := o.entries[q[0]]
		o.mu.Unlock()
		// Deliver only what survives a crash: Put is usually still
		// waiting for this same sync, so this costs no extra one.
		if err := o.gs.Wait(e.ticket, o.syncFile); err != nil {
			o.forget(e) // Put failed: its caller delivers it
			continue
		}
		return e
	}
}

// work delivers one chat's answers in order until its queue is empty or
// ctx ends.
func (o *Outbox) work(ctx context.Context, key picoclaw.SessionKey) {
	defer o.wg.Done()
	stack.Grow() // a delivery (HTTPS, the disk) runs deep: grow once
	b := &backoff.Backoff{Min: o.opts.MinBackoff, Max: o.opts.MaxBackoff}
	failures := 0
	for {
		e := o.head(key)
		if e == nil {
			return
		}
		err := o.attempt(ctx, e)
		if err != nil {
			o.saveSent(e)
		}
		switch {
		case err == nil:
			if failures > 0 {
				o.log.Info("outbox: answer delivered after retrying", "chat", string(key), "id", e.id, "failed_attempts", failures)
			}
			o.finish(e, opDone, "")
		case ctx.Err() != nil:
			o.markGone(key)
			return // stopping: the answer stays on disk for the next start
		case !Retryable(err):
			o.log.Error("outbox: answer dropped: the failure is permanent", "chat", string(key), "id", e.id,
				"parts_sent", e.sent, "err", err)
			o.finish(e, opDrop, err.Error())
		default:
			failures++
			delay := b.Next()
			var rl *picoclaw.RateLimitError
			if errors.As(err, &rl) && rl.RetryAfter > delay {
				delay = rl.RetryAfter
			}
			o.log.Warn("outbox: delivery failed; kept on disk and retried", "chat", string(key), "id", e.id,
				"attempt", failures, "delay", delay, "err", err)
			if backoff.Sleep(ctx, delay) != nil {
				o.markGone(key)
				return
			}
			continue
		}
		failures = 0
		b.Reset()
	}
}

// markGone forgets a worker that stopped with answers still queued.
func (o *Outbox) markGone(key picoclaw.SessionKey) {
	o.mu.Lock()
	delete(o.working, key)
	o.mu.Unlock()
}

// Retryable reports whether a delivery error may go away by itself: a
// temporary failure, throttling, a malformed answer (a proxy's error
// page), or an attempt that ran out of time. Anything else (a 4xx, a chat
// that cannot be reached) is permanent.
func Retryable(err error) bool {
	return picoclaw.IsRetryable(err) || errors.Is(err, picoclaw.ErrBadResponse) || errors.Is(err, context.DeadlineExceeded)
}

// attempt runs the deliverer once, recording each accepted part.
func (o *Outbox) attempt(ctx context.Context, e *entry) error {
	actx, cancel := context.WithTimeout(ctx, o.opts.AttemptTimeout)
	defer cancel()
	o.mu.Lock()
	from := e.sent
	o.mu.Unlock()
	return o.opts.Deliver(actx, e.out, from, func(part int, last bool) { o.partSent(e, part, last) })
}

// partSent records that part i of e was accepted, so that no retry sends
// it again, and returns once that record is durable (the next part is
// sent after it returns). The last part is recorded by finish's done
// record instead, or by saveSent if the attempt fails anyway. A failed
// write is logged only: the part was delivered, and this process
// remembers it; only a crash before the next good write could send it
// twice.
func (o *Outbox) partSent(e *entry, i int, last bool) {
	o.mu.Lock()
	if i+1 <= e.sent {
		o.mu.Unlock()
		return
	}
	e.sent = i + 1
	if last || o.f == nil {
		o.mu.Unlock()
		return
	}
	o.saveSentLocked(e)
}

// saveSent records the parts of e accepted but not yet on disk: an
// attempt that failed after its last part (a deliverer that reports an
// error anyway) must not send that part again after a crash.
func (o *Outbox) saveSent(e *entry) {
	o.mu.Lock()
	if e.saved >= e.sent || o.f == nil {
		o.mu.Unlock()
		return
	}
	o.saveSentLocked(e)
}

// saveSentLocked writes e's sent record, releases o.mu, and waits until
// the record is durable. Callers hold o.mu.
func (o *Outbox) saveSentLocked(e *entry) {
	n := e.sent
	ticket, err := o.appendLocked(&record{Op: opSent, ID: e.id, At: time.Now(), Parts: n})
	o.mu.Unlock()
	if err == nil {
		err = o.gs.Wait(ticket, o.syncFile)
	}
	if err != nil {
		o.log.Warn("outbox: record of a delivered part not saved; a crash now would send it again", "id", e.id, "part", n, "err", err)
		return
	}
	o.mu.Lock()
	e.saved = max(e.saved, n)
	o.mu.Unlock()
}

// finish ends e: done, or dropped with reason (then it goes to dead.jsonl).
func (o *Outbox) finish(e *entry, op, reason string) {
	now := time.Now()
	if op == opDrop {
		// Saved (and synced) before the drop record, outside o.mu: the
		// other chats need not wait for dead.jsonl's disk flush.
		o.mu.Lock()
		sent := e.sent
		o.mu.Unlock()
		if err := o.appendDead(e, sent, now, reason); err != nil {
			o.log.Error("outbox: dropped answer not saved to "+DeadName, "id", e.id, "err", err)
		}
	}
	o.mu.Lock()
	if op == opDrop {
		o.dead++
	}
	var ticket uint64
	var err error
	if o.f != nil {
		ticket, err = o.appendLocked(&record{Op: op, ID: e.id, At: now, Reason: reason})
	}
	o.removeLocked(e)
	if err == nil && ticket > 0 && op == opDone {
		// The done record also stands for the answer's last part (which
		// had no sent record). Written, it survives the process dying;
		// its fdatasync is not waited for: the next put's covers it, or
		// syncLater's. Only a power loss in between sends the answer
		// again after the restart, as an inbox Done record's delay
		// already allows; nothing is lost.
		o.syncLaterLocked(ticket)
		ticket = 0
	}
	if o.f != nil && o.records >= o.compactAt {
		o.compactLocked()
	}
	o.mu.Unlock()
	// A dropped answer's record is waited for: rare, and its reason is
	// what the operator reads.
	if err == nil && ticket > 0 {
		err = o.gs.Wait(ticket, o.syncFile)
	}
	if err != nil {
		// Not fatal: after a restart the answer is tried again, and
		// the parts already recorded are skipped.
		o.log.Warn("outbox: end of an answer not saved; it may be tried again after a restart", "id", e.id, "err", err)
	}
}

// doneSyncDelay bounds how long a done record may wait for its
// fdatasync when no other append's sync covers it first (see finish).
const doneSyncDelay = 100 * time.Millisecond

// syncLaterLocked makes sure the record with ticket is fdatasynced within
// doneSyncDelay. Callers hold o.mu.
func (o *Outbox) syncLaterLocked(ticket uint64) {
	o.lazy = max(o.lazy, ticket)
	if o.syncTimer == nil && o.f != nil {
		o.syncTimer = time.AfterFunc(doneSyncDelay, o.syncLater)
	}
}

// syncLater is syncTimer's function: it syncs the done records not yet
// covered by another append's sync.
func (o *Outbox) syncLater() {
	o.mu.Lock()
	o.syncTimer = nil
	closed, t := o.f == nil, o.lazy
	o.mu.Unlock()
	if closed || o.gs.Synced() >= t {
		return
	}
	if err := o.gs.Wait(t, o.syncFile); err != nil {
		o.log.Warn("outbox: end of an answer not saved; it may be sent again after a power loss", "err", err)
	}
}

// appendDead appends the dropped answer and its reason to dead.jsonl.
func (o *Outbox) appendDead(e *entry, sent int, now time.Time, reason string) error {
	w, err := toWire(e.out)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := encodeRecord(&buf, &record{Op: opDrop, ID: e.id, At: now, Out: w, Parts: sent, Reason: reason}); err != nil {
		return err
	}
	f, err := os.OpenFile(o.deadPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", o.deadPath, err)
	}
	_, werr := f.Write(buf.Bytes())
	serr := fsutil.DataSync(f)
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("append to %s: %w", o.deadPath, err)
	}
	return nil
}

// compactLocked rewrites the file with the undelivered answers only. A
// failure keeps the old file, which stays correct. Callers hold o.mu.
func (o *Outbox) compactLocked() {
	a, err := fsutil.CreateAtomic(o.path, 0o600)
	if err != nil {
		o.log.Warn("outbox: rewrite skipped", "err", err)
		return
	}
	defer a.Abort()
	o.buf.Reset()
	n := 0
	for _, q := range o.queues {
		for _, id := range q {
			e := o.entries[id]
			w, err := toWire(e.out)
			if err != nil {
				continue // cannot happen: it was encoded by Put
			}
			if err := encodeRecord(&o.buf, &record{Op: opPut, ID: e.id, At: e.at, Out: w}); err != nil {
				o.log.Warn("outbox: rewrite skipped", "err", err)
				return
			}
			n++
			if e.sent > 0 {
				_ = encodeRecord(&o.buf, &record{Op: opSent, ID: e.id, At: e.at, Parts: e.sent})
				n++
			}
			e.saved = e.sent
		}
	}
	if _, err := a.Write(o.buf.Bytes()); err != nil {
		o.log.Warn("outbox: rewrite skipped", "err", err)
		return
	}
	f, err := a.CommitOpen()
	if f == nil {
		o.log.Warn("outbox: rewrite skipped", "err", err)
		return
	}
	if err != nil {
		o.log.Warn("outbox: rewritten, but its directory was not synced", "err", err)
	}
	// The new file holds every write so far (as state), synced: nobody
	// waits for the old one any more, which may be closed under a sync.
	o.gs.Covered()
	o.f.Close()
	o.f, o.records, o.needNewline = f, n, false
}
