package agent

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"picoclaw"
	"picoclaw/internal/stack"
)

// Dispatcher defaults.
const (
	DefaultMaxConcurrent = 64
	DefaultQueueLen      = 100
	// DefaultAbandonAfter is how long Shutdown waits for cancelled turns.
	DefaultAbandonAfter = time.Second
)

// DispatcherOptions tunes a Dispatcher; zero fields take the defaults.
type DispatcherOptions struct {
	// MaxConcurrent bounds the turns running at once across all chats.
	MaxConcurrent int
	// QueueLen bounds the messages waiting per session key (not counting
	// the one running).
	QueueLen int
	Logger   *slog.Logger

	// IsStop, if set, picks out messages that ask to stop their chat's
	// running turn. Such a message is not queued (it would wait behind the
	// very turn it means to stop): Dispatch cancels the running turn at
	// once, with cause ErrStopped, and runs OnStop on its own goroutine,
	// saying whether a turn was running. Queued messages stay queued.
	IsStop func(in picoclaw.Inbound) bool
	OnStop func(ctx context.Context, in picoclaw.Inbound, stopped bool)

	// AbandonAfter bounds how long Shutdown waits for cancelled turns
	// once its own deadline has passed (default DefaultAbandonAfter).
	AbandonAfter time.Duration

	// AfterTurn, if set, runs after each turn of Agent.NewDispatcher with
	// the turn's error (nil when answered); the gateway marks the message
	// done in its inbox unless the error is ErrShutdown.
	AfterTurn func(in picoclaw.Inbound, err error)
	// Prepare, if set, runs before each turn of Agent.NewDispatcher, off
	// the channel's receive path (e.g. to download a message's media).
	Prepare func(ctx context.Context, in *picoclaw.Inbound)
	// Attempt, if set, records on disk that a turn of Agent.NewDispatcher
	// for in is starting and returns the how-manieth it is (0: unknown).
	// A message past MaxAttempts is not run again but given up on:
	// apologised for and passed to DeadLetter, then AfterTurn gets
	// ErrGaveUp.
	Attempt    func(in picoclaw.Inbound) (int, error)
	DeadLetter func(in picoclaw.Inbound, reason string) error
	// Stream, if set, gives the sink a turn of Agent.NewDispatcher
	// streams its answer to (nil: none for that turn).
	Stream func(in picoclaw.Inbound) picoclaw.StreamSink
}

// Dispatcher runs turns: in order within a session key, in parallel across
// keys, at most MaxConcurrent at a time. Each key with work has one worker
// goroutine, started on demand and gone once its queue is empty, so idle
// chats cost nothing and a slow chat never holds up another.
type Dispatcher struct {
	turn     func(ctx context.Context, in picoclaw.Inbound)
	isStop   func(in picoclaw.Inbound) bool
	onStop   func(ctx context.Context, in picoclaw.Inbound, stopped bool)
	log      *slog.Logger
	queueLen int
	sem      chan struct{}
	// abandonAfter: see DispatcherOptions.AbandonAfter.
	abandonAfter time.Duration

	// base is the context of every turn; Shutdown cancels it when its own
	// deadline passes.
	base   context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup // one per worker

	mu      sync.Mutex
	closed  bool
	queues  map[picoclaw.SessionKey]*[]picoclaw.Inbound // keys with a worker
	pending int                                         // queued + running
	// running holds the cancel of each key's current turn, set when the
	// turn is taken from the queue (before it waits for a slot).
	running map[picoclaw.SessionKey]context.CancelCauseFunc
}

// NewDispatcher returns a Dispatcher that runs turn for each dispatched
// message. turn must handle its own errors (Agent.Turn logs them).
func NewDispatcher(turn func(ctx context.Context, in picoclaw.Inbound), opts DispatcherOptions) *Dispatcher {
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = DefaultMaxConcurrent
	}
	if opts.QueueLen <= 0 {
		opts.QueueLen = DefaultQueueLen
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AbandonAfter <= 0 {
		opts.AbandonAfter = DefaultAbandonAfter
	}
	base, cancel := context.WithCancelCause(context.Background())
	return &Dispatcher{
		turn:         turn,
		isStop:       opts.IsStop,
		onStop:       opts.OnStop,
		log:          opts.Logger,
		queueLen:     opts.QueueLen,
		abandonAfter: opts.AbandonAfter,
		sem:          make(chan struct{}, opts.MaxConcurrent),
		base:         base,
		cancel:       cancel,
		queues:       make(map[picoclaw.SessionKey]*[]picoclaw.Inbound),
		running:      make(map[picoclaw.SessionKey]context.CancelCauseFunc),
	}
}

// Dispatch queues in for its session key without blocking. It returns false
// if that key's queue is full or the Dispatcher is shut down. A stop
// message (see DispatcherOptions.IsStop) is acted on at once instead.
func (d *Dispatcher) Dispatch(in picoclaw.Inbound) bool {
	key := in.SessionKey()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	if d.isStop != nil && d.isStop(in) {
		stopped := d.cancelLocked(key)
		if d.onStop != nil {
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				d.onStop(d.base, in, stopped)
			}()
		}
		return true
	}
	q, active := d.queues[key]
	if !active {
		q = new([]picoclaw.Inbound)
		d.queues[key] = q
		d.wg.Add(1)
		go d.work(key, q)
	}
	if len(*q) >= d.queueLen {
		d.log.Warn("agent: session queue full; message rejected", "session", string(key), "queued", len(*q))
		return false
	}
	*q = append(*q, in)
	d.pending++
	return true
}

// Cancel cancels the running turn of key, with cause ErrStopped, and
// reports whether there was one. Queued messages of key still run.
func (d *Dispatcher) Cancel(key picoclaw.SessionKey) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancelLocked(key)
}

func (d *Dispatcher) cancelLocked(key picoclaw.SessionKey) bool {
	cancel, ok := d.running[key]
	if ok {
		cancel(ErrStopped)
		delete(d.running, key) // a second stop finds nothing running
	}
	return ok
}

// Pending returns the number of accepted messages whose turn has not
// finished (queued or running).
func (d *Dispatcher) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending
}

// work runs key's queued turns one after another and exits when the queue
// is empty. Removing the key happens under the same lock Dispatch holds, so
// a message is either seen by this worker or starts a new one.
func (d *Dispatcher) work(key picoclaw.SessionKey, q *[]picoclaw.Inbound) {
	defer d.wg.Done()
	stack.Grow() // a turn runs deep: grow once, not in four copies
	for {
		d.mu.Lock()
		if len(*q) == 0 {
			delete(d.queues, key)
			d.mu.Unlock()
			return
		}
		in := (*q)[0]
		(*q)[0] = picoclaw.Inbound{} // let the message be collected
		*q = (*q)[1:]
		ctx, cancel := context.WithCancelCause(d.base)
		d.running[key] = cancel
		d.mu.Unlock()

		d.runOne(ctx, key, in)

		d.mu.Lock()
		d.pending--
		delete(d.running, key)
		d.mu.Unlock()
		cancel(nil)
	}
}

func (d *Dispatcher) runOne(ctx context.Context, key picoclaw.SessionKey, in picoclaw.Inbound) {
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		d.log.Warn("agent: dropping queued message (stopped or shutting down)", "session", string(key), "message_id", in.MessageID, "cause", context.Cause(ctx))
		return
	}
	defer func() { <-d.sem }()
	// The slot may have been freed by a turn that shutdown just cancelled:
	// the base context is cancelled before any of its children, so
	// checking it (not only ctx, whose cancellation may still be on its
	// way) keeps a queued turn from starting during shutdown.
	if d.base.Err() != nil || ctx.Err() != nil {
		cause := context.Cause(d.base)
		if cause == nil {
			cause = context.Cause(ctx)
		}
		d.log.Warn("agent: dropping queued message (stopped or shutting down)", "session", string(key), "message_id", in.MessageID, "cause", cause)
		return
	}
	// A panicking turn must not take every other chat down with it.
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("agent: turn panicked", "session", string(key), "message_id", in.MessageID,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	d.turn(ctx, in)
}

// Shutdown stops accepting messages and waits for queued and running turns
// to finish. If ctx ends first, it cancels the running turns' context,
// drops what is still queued, waits at most AbandonAfter for the turns to
// return and reports ctx.Err(): it never waits without bound.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()

	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		d.cancel(ErrShutdown)
		return nil
	case <-ctx.Done():
		d.cancel(ErrShutdown)
	}
	// A turn stuck where cancellation cannot reach (a tool blocked in a
	// system call) must not hold the process: wait a moment for the
	// cancelled turns, then leave them. Their messages stay pending in the
	// journal and are answered after the restart.
	t := time.NewTimer(d.abandonAfter)
	defer t.Stop()
	select {
	case <-done:
		return ctx.Err()
	case <-t.C:
		n := d.Pending()
		d.log.Error("agent: shutdown: turns did not stop after cancellation; leaving them", "turns", n, "waited", d.abandonAfter)
		return fmt.Errorf("agent: shutdown: %d turns still running %s after cancellation: %w", n, d.abandonAfter, ctx.Err())
	}
}
