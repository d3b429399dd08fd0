package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"picoclaw/internal/backoff"
)

// chatLimiter defaults. DingTalk throttles a robot at about 20 messages per
// minute per chat (errcode 130101 / 660026); idle chats are forgotten after
// five minutes, long after their window has emptied.
const (
	defaultChatPerWindow   = 20
	defaultChatWindow      = time.Minute
	defaultChatIdleTimeout = 5 * time.Minute
)

// errChatLimiterClosed is returned by Do once the limiter is closed.
var errChatLimiterClosed = errors.New("dingtalk: chat limiter closed")

// chatLimiterConfig configures a chatLimiter. Zero values take the defaults.
type chatLimiterConfig struct {
	PerWindow   int           // sends allowed per Window per chat; default 20
	Window      time.Duration // sliding window; default 60s
	Logger      *slog.Logger  // nil: discard
	IdleTimeout time.Duration // drop a chat's state after this long idle; default 5 min
}

// chatLimiter is a per-chat ordered send queue with a sliding-window rate
// limit.
//
// DingTalk counts about 20 robot messages per minute per chat and answers
// 130101/660026 beyond that. A burst of 30 messages to one group is therefore
// sent as 20 at once, then the rest one by one as the oldest sends leave the
// 60-second window. The limiter delays, it never drops a message: a send is
// abandoned only when its own ctx ends, its batch fails, or the limiter is
// closed.
//
// Each chat holds a FIFO of tickets: Do calls for one key run strictly in
// the order they were made (a mutex would not promise that), and a batch
// keeps the chat until its last part is sent, so the parts of one reply are
// never interleaved with another message. Different keys share nothing but
// a short critical section.
//
// Costs stay small: an idle chat is a map entry and at most PerWindow
// timestamps, with no goroutine; a single timer for the whole limiter drops
// chats idle for between IdleTimeout and twice that (never before their
// window and any penalty have passed). Send times are taken when a send
// returns, so the spacing holds for arrival times at DingTalk too, however
// long each request took.
type chatLimiter struct {
	perWindow int
	window    time.Duration
	idle      time.Duration
	log       *slog.Logger

	// closeCtx ends on Close, waking queued and sleeping senders.
	closeCtx context.Context
	cancel   context.CancelFunc

	mu           sync.Mutex
	chats        map[string]*chatState
	closed       bool
	janitor      *time.Timer // sweeps idle chats; armed only while idle ones exist
	janitorArmed bool
}

// chatState is one chat's queue and send history, guarded by chatLimiter.mu.
type chatState struct {
	busy      bool          // a Do call holds the chat
	queue     []*chatTicket // Do calls waiting their turn, oldest first
	sends     []time.Time   // recent send times; a ring once len == perWindow
	next      int           // oldest entry of the full ring
	notBefore time.Time     // set by Penalize
	lastUsed  time.Time
}

// chatTicket is a queued Do call; ready is closed when the chat is handed
// to it.
type chatTicket struct {
	ready   chan struct{}
	granted bool
}

// newChatLimiter returns a limiter; call Close when done with it.
func newChatLimiter(cfg chatLimiterConfig) *chatLimiter {
	if cfg.PerWindow <= 0 {
		cfg.PerWindow = defaultChatPerWindow
	}
	if cfg.Window <= 0 {
		cfg.Window = defaultChatWindow
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = defaultChatIdleTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &chatLimiter{
		perWindow: cfg.PerWindow,
		window:    cfg.Window,
		idle:      cfg.IdleTimeout,
		log:       cfg.Logger,
		closeCtx:  ctx,
		cancel:    cancel,
		chats:     make(map[string]*chatState),
	}
}

// Do runs fns for chat key when the chat's window allows, strictly in the
// order Do calls for that key were made, and never more than PerWindow runs
// per Window per key. Different keys never wait for each other. The fns of
// one call (the parts of one reply) run contiguously in order: no other
// message of the same chat interleaves. An fn's error stops the rest of the
// batch and is returned as is. If ctx ends first, Do leaves the queue
// without holding up later callers and returns an error wrapping ctx.Err().
func (l *chatLimiter) Do(ctx context.Context, key string, fns ...func(ctx context.Context) error) error {
	if len(fns) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dingtalk: wait for chat send turn: %w", err)
	}
	st, t, err := l.enqueue(key)
	if err != nil {
		return err
	}
	if t != nil {
		if err := l.awaitTurn(ctx, st, t); err != nil {
			return err
		}
	}
	defer l.release(st)
	for _, fn := range fns {
		if err := l.awaitSlot(ctx, key, st); err != nil {
			return err
		}
		err := fn(ctx)
		l.mu.Lock()
		st.record(time.Now(), l.perWindow)
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// Penalize makes key wait at least d before its next send, on top of the
// window; used after a 130101/660026 answer. A longer earlier penalty stands.
func (l *chatLimiter) Penalize(key string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || d <= 0 {
		return
	}
	st := l.chat(key)
	if until := time.Now().Add(d); until.After(st.notBefore) {
		st.notBefore = until
	}
	l.log.Info("dingtalk: chat sends paused after throttling", "chat", key, "for", d)
}

// Close stops the idle sweeper and fails queued, waiting and later Do calls
// with errChatLimiterClosed. An fn already running is not interrupted.
func (l *chatLimiter) Close() {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		if l.janitor != nil {
			l.janitor.Stop()
		}
		l.janitorArmed = false
	}
	l.mu.Unlock()
	l.cancel()
}

// enqueue takes the chat at once when it is free (t == nil), else queues a
// ticket behind the callers already there.
func (l *chatLimiter) enqueue(key string) (*chatState, *chatTicket, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, errChatLimiterClosed
	}
	st := l.chat(key)
	if !st.busy {
		st.busy = true
		return st, nil, nil
	}
	t := &chatTicket{ready: make(chan struct{})}
	st.queue = append(st.queue, t)
	return st, t, nil
}

// awaitTurn blocks until t is granted the chat, or leaves the queue.
func (l *chatLimiter) awaitTurn(ctx context.Context, st *chatState, t *chatTicket) error {
	var cause error
	select {
	case <-t.ready:
		return nil
	case <-ctx.Done():
		cause = fmt.Errorf("dingtalk: wait for chat send turn: %w", ctx.Err())
	case <-l.closeCtx.Done():
		cause = errChatLimiterClosed
	}
	l.mu.Lock()
	granted := t.granted
	if !granted {
		for i, q := range st.queue {
			if q == t {
				st.queue = append(st.queue[:i], st.queue[i+1:]...)
				break
			}
		}
	}
	l.mu.Unlock()
	if granted {
		// The turn came as ctx ended: pass it on unused.
		l.release(st)
	}
	return cause
}

// awaitSlot blocks the chat's holder until the window and any penalty allow
// one more send.
func (l *chatLimiter) awaitSlot(ctx context.Context, key string, st *chatState) error {
	for {
		// A turn or slot that comes after ctx ended is not used.
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dingtalk: wait for chat send slot: %w", err)
		}
		l.mu.Lock()
		closed := l.closed
		wait := st.wait(time.Now(), l.perWindow, l.window)
		l.mu.Unlock()
		if closed {
			return errChatLimiterClosed
		}
		if wait <= 0 {
			return nil
		}
		l.log.Debug("dingtalk: chat send delayed by rate limit", "chat", key, "wait", wait)
		if err := l.sleepOrClose(ctx, wait); err != nil {
			return err
		}
	}
}

// sleepOrClose sleeps d, cut short by ctx or Close. Only the slow path pays
// for the merged context.
func (l *chatLimiter) sleepOrClose(ctx context.Context, d time.Duration) error {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(l.closeCtx, cancel)
	defer stop()
	err := backoff.Sleep(sctx, d)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("dingtalk: wait for chat send slot: %w", ctx.Err())
	case l.closeCtx.Err() != nil:
		return errChatLimiterClosed
	case err != nil:
		return fmt.Errorf("dingtalk: wait for chat send slot: %w", err)
	}
	return nil
}

// release hands the chat to the next ticket, or frees it.
func (l *chatLimiter) release(st *chatState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st.lastUsed = time.Now()
	if len(st.queue) == 0 {
		st.busy = false
		l.armJanitor()
		return
	}
	t := st.queue[0]
	st.queue[0] = nil
	st.queue = st.queue[1:]
	if len(st.queue) == 0 {
		st.queue = nil // let the backing array go
	}
	t.granted = true
	close(t.ready) // busy stays set: the chat passes straight to t
}

// chat returns key's state, creating it. Callers hold l.mu.
func (l *chatLimiter) chat(key string) *chatState {
	st, ok := l.chats[key]
	if !ok {
		st = &chatState{lastUsed: time.Now()}
		l.chats[key] = st
		l.armJanitor()
	}
	return st
}

// armJanitor makes sure a sweep is due. Callers hold l.mu.
func (l *chatLimiter) armJanitor() {
	if l.janitorArmed || l.closed {
		return
	}
	l.janitorArmed = true
	if l.janitor == nil {
		l.janitor = time.AfterFunc(l.idle, l.sweep)
	} else {
		l.janitor.Reset(l.idle)
	}
}

// sweep drops idle chats and re-arms itself while idle ones remain; a busy
// chat re-arms it when released, so a limiter with no idle chat has no timer
// pending.
func (l *chatLimiter) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.janitorArmed = false
	if l.closed {
		return
	}
	// Wait out the window as well, so dropping a chat never loses history
	// that still limits it.
	idle := max(l.idle, l.window)
	now := time.Now()
	rearm := false
	for key, st := range l.chats {
		switch {
		case st.busy:
		case !now.Before(st.lastUsed.Add(idle)) && !now.Before(st.notBefore):
			delete(l.chats, key)
		default:
			rearm = true
		}
	}
	if rearm {
		l.armJanitor()
	}
}

// wait returns how long until one more send is allowed.
func (st *chatState) wait(now time.Time, perWindow int, window time.Duration) time.Duration {
	until := st.notBefore
	if len(st.sends) == perWindow {
		if free := st.sends[st.next].Add(window); free.After(until) {
			until = free
		}
	}
	return until.Sub(now)
}

// record notes a send at now, overwriting the oldest once the ring is full.
func (st *chatState) record(now time.Time, perWindow int) {
	if len(st.sends) < perWindow {
		st.sends = append(st.sends, now)
		return
	}
	st.sends[st.next] = now
	st.next = (st.next + 1) % perWindow
}
