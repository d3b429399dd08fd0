package natsstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"picoclaw"
)

// partition is one partition this gateway holds the lease of.
type partition struct {
	n   int
	rev uint64 // the lease's revision, for compare-and-set refreshes
	// refreshed is when the last successful refresh was sent (written by
	// the lease loop, read by the fetch loop; a time.Time keeps the
	// monotonic clock, so a wall-clock step changes nothing).
	refreshed atomic.Pointer[time.Time]
	// Why the fetch loop gave the partition up (set before onLost, read
	// by the runner after): iterClosed, the client library closed its
	// iterator (handed back gracefully); stale, it pulled on a lease not
	// renewed within its TTL (forgotten: its consumer may be another
	// gateway's now, and the lease, if still this one's, expires).
	iterClosed, stale bool

	cancel context.CancelFunc // stops fetching
	exited chan struct{}      // closed when the fetch loop has returned

	// Guarded by Queue.mu.
	inFlight  int
	stopped   bool          // fetching stopped: inFlight only falls
	idle      chan struct{} // closed once stopped and inFlight is 0
	idleShut  bool
	releasing bool // being handed back: not counted in the share
}

func (p *partition) leaseKey() string { return "part." + strconv.Itoa(p.n) }

func (p *partition) setRefreshed(t time.Time) { p.refreshed.Store(&t) }

// sinceRefreshed is how long ago the lease was last renewed.
func (p *partition) sinceRefreshed() time.Duration {
	t := p.refreshed.Load()
	if t == nil {
		return time.Duration(1<<63 - 1)
	}
	return time.Since(*t)
}

// pullExpiry and pullHeartbeat bound how long a partition's fetch waits on
// a pull request nobody serves.
const (
	pullExpiry    = 5 * time.Second
	pullHeartbeat = 2 * time.Second
)

// consumerName is the durable consumer of partition n.
func consumerName(n int) string { return "part-" + strconv.Itoa(n) }

// markStoppedLocked records that p's fetch loop has returned; q.mu held.
func (p *partition) markStoppedLocked() {
	p.stopped = true
	p.closeIdleLocked()
}

func (p *partition) closeIdleLocked() {
	if p.stopped && p.inFlight == 0 && !p.idleShut {
		p.idleShut = true
		close(p.idle)
	}
}

// startPartition sets up a fresh consumer for p, whose lease was just
// won, and starts fetching its messages. An old consumer is deleted first:
// the fresh one delivers every message still in the stream, unfinished
// ones included, in stream order, so a chat's order survives a fail-over.
func (q *Queue) startPartition(ctx context.Context, p *partition, dispatch func(picoclaw.Inbound) bool, onLost func(*partition)) error {
	name := consumerName(p.n)
	opCtx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	old, err := q.stream.Consumer(opCtx, name)
	switch {
	case err == nil:
		// A graceful release deletes its consumer, so one still here was
		// left by a gateway that died or lost its lease.
		info := old.CachedInfo()
		now := time.Now()
		q.mu.Lock()
		q.takeover = now
		q.mu.Unlock()
		q.log.Warn("natsstore: taking over a partition its last owner left unreleased",
			"partition", p.n, "previous_owner", info.Config.Metadata["owner"], "unfinished", info.NumAckPending, "waiting", info.NumPending)
		if err := q.stream.DeleteConsumer(opCtx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return fmt.Errorf("delete old consumer %s: %w", name, err)
		}
	case errors.Is(err, jetstream.ErrConsumerNotFound):
	default:
		return fmt.Errorf("look up consumer %s: %w", name, err)
	}
	cons, err := q.stream.CreateConsumer(opCtx, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "picoclaw: partition " + strconv.Itoa(p.n),
		FilterSubject: fmt.Sprintf("%s.%d.>", q.subjIn, p.n),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       q.cfg.AckWait,
		MaxAckPending: maxAckPending,
		MaxDeliver:    -1,
		Metadata:      map[string]string{"owner": q.cfg.Node},
	})
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", name, err)
	}
	// Short pulls: a pull sent before a new replicated consumer has a
	// leader goes unanswered, and only a missed heartbeat ends it. With
	// the default 30 s expiry a partition just claimed sat idle that long.
	iter, err := cons.Messages(jetstream.PullMaxMessages(64), jetstream.PullExpiry(pullExpiry), jetstream.PullHeartbeat(pullHeartbeat))
	if err != nil {
		return fmt.Errorf("consume %s: %w", name, err)
	}
	fctx, stop := context.WithCancel(ctx)
	p.cancel = stop
	p.exited = make(chan struct{})
	p.idle = make(chan struct{})
	go func() {
		<-fctx.Done()
		iter.Stop()
	}()
	go q.fetch(fctx, p, iter, dispatch, onLost)
	return nil
}

// fetch hands p's messages to dispatch in stream order until stopped.
func (q *Queue) fetch(ctx context.Context, p *partition, iter jetstream.MessagesContext, dispatch func(picoclaw.Inbound) bool, onLost func(*partition)) {
	defer func() {
		q.mu.Lock()
		p.markStoppedLocked()
		q.mu.Unlock()
		close(p.exited)
	}()
	for {
		msg, err := iter.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			if ctx.Err() == nil {
				// Closed by the client library (a pull the server
				// refused), not by us: a partition whose lease is still
				// renewed would otherwise never deliver again. Give it
				// up; it is claimed afresh, with a new consumer.
				q.log.Warn("natsstore: partition's message iterator closed; handing the partition back to claim it again", "partition", p.n)
				p.iterClosed = true
				go onLost(p)
			}
			return
		}
		if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
			// Another gateway took the partition over.
			q.log.Warn("natsstore: partition's consumer was deleted; another gateway owns it now", "partition", p.n)
			p.cancel()
			go onLost(p)
			return
		}
		if err != nil {
			q.log.Debug("natsstore: fetch", "partition", p.n, "err", err)
			continue
		}
		if !q.deliver(p, msg, dispatch) {
			// Pulled on a lease that may be gone: stop pulling (the
			// runner renews it or drops the partition), so that at most
			// this message goes back, and the chat's order holds.
			p.stale = true
			p.cancel()
			go onLost(p)
			return
		}
	}
}

// deliver hands one message to dispatch unless it was answered already.
// It is false, the message handed back, when p's lease was not renewed
// within its TTL.
func (q *Queue) deliver(p *partition, msg jetstream.Msg, dispatch func(picoclaw.Inbound) bool) bool {
	if age := p.sinceRefreshed(); age >= q.cfg.LeaseTTL {
		// Cut off from NATS for longer than the lease, this gateway may
		// have lost the partition without hearing of it: another gateway
		// may own it, with a new consumer of the same name, and this pull
		// was served by that one. Hand the message back at once.
		q.log.Warn("natsstore: message pulled on a lease not renewed within its TTL; handing it back", "partition", p.n, "since_renewed", age.Round(time.Millisecond))
		_ = msg.Nak()
		return false
	}
	in, err := decodeQueueMessage(msg.Data())
	if err != nil || in.MessageID == "" {
		// Unreadable by this build: terminated (kept in the stream's
		// history no longer), never retried forever.
		q.log.Error("natsstore: dropping an unreadable inbox message", "partition", p.n, "subject", msg.Subject(), "err", err)
		_ = msg.Term()
		return true
	}
	id := in.MessageID
	q.mu.Lock()
	if f := q.flights[id]; f != nil {
		// Redelivered while still being worked on (this gateway lost the
		// partition's lease and won it back): acks go to the latest
		// delivery, the partition now waits for it, and the turn is not
		// run twice.
		f.msg = msg
		if f.part != p {
			f.part.inFlight--
			f.part.closeIdleLocked()
			f.part = p
			p.inFlight++
		}
		q.mu.Unlock()
		return true
	}
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	_, err = q.done.Get(ctx, doneKey(id))
	cancel()
	switch {
	case err == nil:
		// Answered before, its ack lost (a crash between Done's two
		// steps): ack it now, answer nothing.
		q.log.Info("natsstore: message answered before; acking without answering again", "partition", p.n, "session", string(in.SessionKey()))
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		if err := msg.DoubleAck(ctx); err != nil {
			q.log.Warn("natsstore: ack answered message", "partition", p.n, "err", err)
		}
		cancel()
		return true
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		// Better answered twice than never.
		q.log.Warn("natsstore: check whether message was answered; dispatching it", "partition", p.n, "err", err)
	}
	q.mu.Lock()
	q.flights[id] = &flight{msg: msg, part: p, in: in}
	p.inFlight++
	q.mu.Unlock()
	if !dispatch(in) {
		q.log.Debug("natsstore: dispatcher refused message; its refusal path marks it done", "partition", p.n, "session", string(in.SessionKey()))
	}
	return true
}

// keepInProgress tells JetStream every AckWait/3 that the messages in
// flight are still being worked on, so a long turn is not redelivered.
func (q *Queue) keepInProgress(ctx context.Context) {
	t := time.NewTicker(q.cfg.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		q.mu.Lock()
		msgs := make([]jetstream.Msg, 0, len(q.flights))
		for _, f := range q.flights {
			msgs = append(msgs, f.msg)
		}
		q.mu.Unlock()
		for _, m := range msgs {
			if err := m.InProgress(); err != nil {
				q.log.Debug("natsstore: progress note", "err", err)
			}
		}
	}
}
