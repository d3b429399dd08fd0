package inbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"picoclaw"
	"picoclaw/internal/fsutil"
)

// DeadLetterName is the file, next to the journal, that keeps the messages
// given up on, one JSON record per line with the reason.
const DeadLetterName = "deadletter.jsonl"

// deadLetter is one line of the dead-letter file.
type deadLetter struct {
	V        int             `json:"v"`
	At       time.Time       `json:"at"`
	Reason   string          `json:"reason"`
	Attempts int             `json:"attempts"`
	In       json.RawMessage `json:"in"`
}

// Attempt records that a turn for the pending message id is starting, and
// returns how many turns have started for it, this one included. The
// record is written to the journal before Attempt returns, so the count
// survives the process dying mid-turn (a panic that escapes, kill -9, the
// OOM killer): the kernel keeps what was written. It is fdatasynced with
// the journal's next sync (the next Accept's) or DoneDelay later, not
// waited for: a turn cannot take the kernel down with it, and only a
// power loss in that window forgets the attempt (the message is then
// replayed with one attempt fewer counted). That spares the turn's start
// an fdatasync, which the next frame's ack would queue behind. An id that
// is not pending returns 0 and writes nothing.
func (b *Inbox) Attempt(id string) (int, error) {
	b.mu.Lock()
	if b.f == nil {
		b.mu.Unlock()
		return 0, fmt.Errorf("inbox: attempt %s: %w", id, ErrClosed)
	}
	e, ok := b.pending[id]
	if !ok {
		b.mu.Unlock()
		return 0, nil
	}
	t, err := b.appendLocked(&record{Op: opAttempt, ID: id, At: b.cfg.now()})
	if err != nil {
		b.mu.Unlock()
		return 0, fmt.Errorf("inbox: attempt %s: %w", id, err)
	}
	e.attempts++
	n := e.attempts
	b.syncLaterLocked(t)
	b.maybeCompact()
	b.mu.Unlock()
	return n, nil
}

// Release takes back the last Attempt of the pending message id: its turn
// was cancelled cleanly (a graceful shutdown) and did not fail, so it
// should not count towards giving the message up.
func (b *Inbox) Release(id string) error {
	b.mu.Lock()
	if b.f == nil {
		b.mu.Unlock()
		return fmt.Errorf("inbox: release %s: %w", id, ErrClosed)
	}
	e, ok := b.pending[id]
	if !ok || e.attempts == 0 {
		b.mu.Unlock()
		return nil
	}
	t, err := b.appendLocked(&record{Op: opRelease, ID: id, At: b.cfg.now()})
	if err != nil {
		b.mu.Unlock()
		return fmt.Errorf("inbox: release %s: %w", id, err)
	}
	e.attempts--
	b.maybeCompact()
	b.mu.Unlock()
	if err := b.wait(t); err != nil {
		return fmt.Errorf("inbox: release %s: %w", id, err)
	}
	return nil
}

// DeadLetter gives up on in: it appends in and reason to the dead-letter
// file (fsynced, mode 0600) and marks the message done, so it is never
// replayed again. The caller tells the user.
func (b *Inbox) DeadLetter(in picoclaw.Inbound, reason string) error {
	if in.MessageID == "" {
		return errors.New("inbox: dead-letter: empty message id")
	}
	b.mu.Lock()
	attempts := 0
	if e, ok := b.pending[in.MessageID]; ok {
		attempts = e.attempts
	}
	b.mu.Unlock()
	w, err := toWire(&record{Op: opAccept, ID: in.MessageID, In: &in})
	if err != nil {
		return fmt.Errorf("inbox: dead-letter %s: %w", in.MessageID, err)
	}
	line, err := json.Marshal(deadLetter{V: wireVersion, At: b.cfg.now(), Reason: reason, Attempts: attempts, In: w.In})
	if err != nil {
		return fmt.Errorf("inbox: dead-letter %s: %w", in.MessageID, err)
	}
	if err := appendSynced(filepath.Join(b.dir, DeadLetterName), append(line, '\n')); err != nil {
		return fmt.Errorf("inbox: dead-letter %s: %w", in.MessageID, err)
	}
	return b.Done(in.MessageID)
}

func appendSynced(path string, line []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return err
	}
	if err := fsutil.DataSync(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
