package natsstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"picoclaw"
)

// flight is a message Run handed to dispatch and nobody has finished yet.
type flight struct {
	msg  jetstream.Msg // the latest delivery: acks go to it
	part *partition
	in   picoclaw.Inbound
}

// Header names of a dead-lettered message.
const (
	DeadReasonHeader   = "Picoclaw-Reason"
	DeadAttemptsHeader = "Picoclaw-Attempts"
)

// errUnknownMessage is wrapped by the errors of calls naming a message
// that Run did not deliver here.
var errUnknownMessage = errors.New("not a message this gateway's queue delivered")

// doneKey and attemptKey are the P_done keys of a message id.
func doneKey(id string) string    { return "done." + queueToken(id) }
func attemptKey(id string) string { return "attempt." + queueToken(id) }

// flightOf returns id's flight; ok is false and err nil when id finished
// here lately (Done after DeadLetter), err set when it is unknown.
func (q *Queue) flightOf(op, id string) (f *flight, ok bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if f := q.flights[id]; f != nil {
		return f, true, nil
	}
	if q.finished.has(id) {
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("natsstore: %s %s: %w", op, id, errUnknownMessage)
}

// finish forgets f's message as in flight and wakes whoever waits for its
// partition to drain.
func (q *Queue) finish(id string, f *flight) {
	q.mu.Lock()
	if q.flights[id] == f {
		delete(q.flights, id)
		q.finished.add(id)
		f.part.inFlight--
		f.part.closeIdleLocked()
	}
	q.mu.Unlock()
}

// Done marks the message answered: first in P_done, so that a gateway
// that gets it again (the ack lost in a crash) skips it, then acks it so
// JetStream removes it.
func (q *Queue) Done(id string) error {
	f, ok, err := q.flightOf("done", id)
	if !ok {
		return err
	}
	// Finished here whatever happens next: a flight left behind would
	// hold its partition's hand-over forever, and swallow a redelivery.
	defer q.finish(id, f)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	var rerr error
	if _, err := q.done.Put(ctx, doneKey(id), []byte(time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
		// The record only guards a crash between it and the ack: ack anyway.
		rerr = fmt.Errorf("natsstore: done %s: record: %w", id, err)
	}
	if err := f.msg.DoubleAck(ctx); err != nil {
		// Not acked: JetStream delivers it again after AckWait, and it is
		// answered twice rather than never.
		return errors.Join(rerr, fmt.Errorf("natsstore: done %s: ack: %w", id, err))
	}
	return rerr
}

// Attempt records that a turn for the message starts and returns how many
// have started, this one included. The count lives in P_done, not in the
// delivery's metadata: a partition taken over gets a fresh consumer whose
// delivery counts start again at one, and a turn retried in the same
// process is no redelivery, yet a message that crashed two gateways must
// still be given up on (agent.MaxAttempts).
func (q *Queue) Attempt(id string) (int, error) {
	if _, ok, err := q.flightOf("attempt", id); !ok {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	n, err := q.addAttempts(ctx, id, 1)
	if err != nil {
		return 0, fmt.Errorf("natsstore: attempt %s: %w", id, err)
	}
	return n, nil
}

// addAttempts adds delta (never going below zero) to id's attempt count
// with compare-and-set, so two writers never lose an increment.
func (q *Queue) addAttempts(ctx context.Context, id string, delta int) (int, error) {
	key := attemptKey(id)
	for {
		var n int
		var rev uint64
		e, err := q.done.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, err
		default:
			rev = e.Revision()
			if n, err = strconv.Atoi(string(e.Value())); err != nil {
				return 0, fmt.Errorf("attempt count %q: %w", e.Value(), err)
			}
		}
		n = max(n+delta, 0)
		val := []byte(strconv.Itoa(n))
		if rev == 0 {
			_, err = q.done.Create(ctx, key, val)
		} else {
			_, err = q.done.Update(ctx, key, val, rev)
		}
		if isCASConflict(err) {
			continue // raced another writer: read again
		}
		return n, err
	}
}

// isCASConflict reports a KV Create or Update that lost to another writer.
func isCASConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// Release takes back the message's last Attempt (its turn was cut short
// cleanly) and naks it so that it is delivered again at once.
func (q *Queue) Release(id string) error {
	f, ok, err := q.flightOf("release", id)
	if !ok {
		return err
	}
	defer q.finish(id, f)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	_, aerr := q.addAttempts(ctx, id, -1)
	if aerr != nil {
		aerr = fmt.Errorf("natsstore: release %s: take back attempt: %w", id, aerr)
	}
	if err := f.msg.Nak(); err != nil {
		return errors.Join(aerr, fmt.Errorf("natsstore: release %s: nak: %w", id, err))
	}
	return aerr
}

// DeadLetter keeps in, given up on, in the DEAD stream with the reason,
// marks it done and acks it.
func (q *Queue) DeadLetter(in picoclaw.Inbound, reason string) error {
	id := in.MessageID
	f, ok, err := q.flightOf("dead-letter", id)
	if !ok {
		return err
	}
	data, err := encodeQueueMessage(in)
	if err != nil {
		return fmt.Errorf("natsstore: dead-letter %s: %w", id, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	attempts := 0
	if e, err := q.done.Get(ctx, attemptKey(id)); err == nil {
		attempts, _ = strconv.Atoi(string(e.Value()))
	}
	msg := nats.NewMsg(fmt.Sprintf("%s.%d", q.subjDead, f.part.n))
	msg.Data = data
	msg.Header.Set(DeadReasonHeader, reason)
	msg.Header.Set(DeadAttemptsHeader, strconv.Itoa(attempts))
	// The id dedups a dead letter written again after a crash before the ack.
	if _, err := q.js.PublishMsg(ctx, msg, jetstream.WithMsgID("dead."+id)); err != nil {
		return fmt.Errorf("natsstore: dead-letter %s: publish: %w", id, err)
	}
	if _, err := q.done.Put(ctx, doneKey(id), []byte(time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
		return fmt.Errorf("natsstore: dead-letter %s: record done: %w", id, err)
	}
	defer q.finish(id, f)
	if err := f.msg.DoubleAck(ctx); err != nil {
		return fmt.Errorf("natsstore: dead-letter %s: ack: %w", id, err)
	}
	return nil
}

// recentSet remembers the last n ids added.
type recentSet struct {
	n     int
	order []string
	set   map[string]struct{}
}

func newRecentSet(n int) *recentSet { return &recentSet{n: n, set: map[string]struct{}{}} }

func (r *recentSet) has(id string) bool { _, ok := r.set[id]; return ok }

func (r *recentSet) add(id string) {
	if r.has(id) {
		return
	}
	if len(r.order) >= r.n {
		delete(r.set, r.order[0])
		r.order = r.order[1:]
	}
	r.order = append(r.order, id)
	r.set[id] = struct{}{}
}

func sortInts(s []int) { slices.Sort(s) }
