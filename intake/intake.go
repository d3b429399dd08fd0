package intake

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"picoclaw"
	"picoclaw/agent"
	"picoclaw/internal/backoff"
)

// BusyText answers a message refused because its chat's queue is full.
const BusyText = "我正忙着处理之前的消息，请稍后再发。I'm still working through earlier messages; please try again shortly."

// busyTimeout bounds one busy answer: it goes to the outbox, which
// answers at once, or straight to the channel.
const busyTimeout = 30 * time.Second

// Journal is the durable record of accepted messages (*inbox.Inbox).
type Journal interface {
	// Accept records in durably before it returns; false when its
	// MessageID was accepted before.
	Accept(in picoclaw.Inbound) (isNew bool, err error)
	// Pending lists the accepted messages not yet done, oldest first.
	Pending() []picoclaw.Inbound
	Done(messageID string) error
	Attempt(messageID string) (int, error)
	Release(messageID string) error
	DeadLetter(in picoclaw.Inbound, reason string) error
}

// Queue is a Journal that several gateways share (storage.backend
// "nats"): Accept only stores a message; Run hands this gateway, in order,
// the messages of the chats it owns, whichever gateway accepted them.
type Queue interface {
	Journal
	Run(ctx context.Context, dispatch func(picoclaw.Inbound) bool) error
}

// Dispatcher runs turns (*agent.Dispatcher); Dispatch is false when the
// chat's queue is full.
type Dispatcher interface {
	Dispatch(in picoclaw.Inbound) bool
}

// Config configures an Intake. Journal and Send are required.
type Config struct {
	Journal Journal
	// Send delivers the busy answer of a refused message.
	Send   func(ctx context.Context, out picoclaw.Outbound) error
	Logger *slog.Logger
	// Adopt, if set, sees each message a shared queue hands over before it
	// is dispatched (the channel takes its reply route).
	Adopt func(in picoclaw.Inbound)
	// Spill, with a shared queue, keeps on this gateway's disk the
	// messages the queue could not take within sharedPatience, until
	// they are forwarded to it (spill.go): the files inbox of the data
	// dir. Nil keeps them in memory only.
	Spill Journal
}

// Intake journals each accepted message before its frame is acked, hands
// it to the dispatcher, and marks it done once answered, so that a crash
// loses nothing and a redelivery is never answered twice.
type Intake struct {
	box   Journal
	send  func(context.Context, picoclaw.Outbound) error
	adopt func(picoclaw.Inbound)
	log   *slog.Logger
	disp  Dispatcher
	spill *spill

	// ctx bounds the busy answers; Close cancels it and waits for them.
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// New returns an Intake; Attach its dispatcher before the first Accept.
func New(cfg Config) (*Intake, error) {
	if cfg.Journal == nil || cfg.Send == nil {
		return nil, errors.New("intake: new: journal and send are required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	k := &Intake{box: cfg.Journal, send: cfg.Send, adopt: cfg.Adopt, log: log, ctx: ctx, cancel: cancel}
	if cfg.Spill != nil && k.shared() {
		k.spill = &spill{box: cfg.Spill, poke: make(chan struct{}, 1)}
		// Messages left on disk by an earlier run go to the queue now.
		k.wg.Go(k.forward)
	}
	return k, nil
}

// Attach sets the dispatcher. It is separate from New because the
// dispatcher is built with this Intake's AfterTurn, Attempt and DeadLetter.
func (k *Intake) Attach(d Dispatcher) { k.disp = d }

// Accept is the channel's handle func: it runs before the frame's ack, so
// the message is on disk before DingTalk considers it delivered.
func (k *Intake) Accept(in picoclaw.Inbound) {
	if k.shared() {
		k.acceptShared(in)
		return
	}
	isNew, err := k.box.Accept(in)
	switch {
	case err != nil:
		k.log.Error("inbox: journal message; answering without a crash guarantee", "session", in.SessionKey(), "err", err)
	case !isNew:
		k.log.Debug("message already accepted before a restart; not answered twice", "session", in.SessionKey())
		return
	}
	k.dispatch(in)
}

// acceptShared stores in in the shared queue; the chat's owner gets it
// from Run. Answering here would bypass the owner (order, history), so a
// message the queue cannot take is kept trying, first here, holding the
// messages behind it (so a chat's order holds), then on this gateway's
// disk (the spill), forwarded once the queue takes messages again.
func (k *Intake) acceptShared(in picoclaw.Inbound) {
	if k.spill != nil && k.spill.waiting() {
		// Earlier messages wait on disk: this one joins them, in order.
		if k.spillOne(in) {
			return
		}
	}
	_, err := k.box.Accept(in)
	if err == nil || k.acceptAgain(in) {
		return
	}
	if k.spill != nil && k.spillOne(in) {
		return
	}
	k.log.Error("shared queue: message not stored yet; retrying in the background", "session", in.SessionKey(), "err", err)
	k.retryAccept(in)
}

// sharedPatience is how long Accept keeps retrying a shared queue before
// the message is left to a background retry (and may then be stored
// after later messages of its chat).
const sharedPatience = 30 * time.Second

// acceptAgain retries storing in for up to sharedPatience; true once stored.
func (k *Intake) acceptAgain(in picoclaw.Inbound) bool {
	ctx, cancel := context.WithTimeout(k.ctx, sharedPatience)
	defer cancel()
	wait := &backoff.Backoff{Min: 250 * time.Millisecond, Max: 2 * time.Second}
	for wait.Wait(ctx) == nil {
		if _, err := k.box.Accept(in); err == nil {
			k.log.Info("shared queue: message stored after retrying", "session", in.SessionKey())
			return true
		}
	}
	return false
}

// retryAccept stores in in the shared queue in the background, with
// backoff, until it is stored or the gateway stops (then it is logged as
// lost: its frame was acked).
func (k *Intake) retryAccept(in picoclaw.Inbound) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		k.log.Error("stopping: message not stored, lost", "session", in.SessionKey(), "message_id", in.MessageID)
		return
	}
	k.wg.Go(func() {
		wait := &backoff.Backoff{Min: 250 * time.Millisecond, Max: 10 * time.Second}
		for {
			if wait.Wait(k.ctx) != nil {
				k.log.Error("stopping: message not stored, lost", "session", in.SessionKey(), "message_id", in.MessageID)
				return
			}
			if _, err := k.box.Accept(in); err == nil {
				k.log.Info("shared queue: message stored after retrying", "session", in.SessionKey())
				return
			}
		}
	})
}

func (k *Intake) shared() bool {
	_, ok := k.box.(Queue)
	return ok
}

// Run hands a shared journal's messages to the dispatcher until ctx ends;
// with a journal of this gateway alone it returns at once (Replay and
// Accept dispatch).
func (k *Intake) Run(ctx context.Context) error {
	q, ok := k.box.(Queue)
	if !ok {
		return nil
	}
	return q.Run(ctx, func(in picoclaw.Inbound) bool {
		if k.adopt != nil {
			k.adopt(in)
		}
		k.dispatch(in)
		return true
	})
}

// Replay answers the messages accepted but not answered before the last
// stop.
func (k *Intake) Replay() {
	pending := k.box.Pending()
	if len(pending) == 0 {
		return
	}
	k.log.Info("answering messages accepted before the last stop", "count", len(pending))
	for _, in := range pending {
		k.dispatch(in)
	}
}

func (k *Intake) dispatch(in picoclaw.Inbound) {
	if k.disp.Dispatch(in) {
		if agent.IsStopCommand(in.Text) {
			k.done(in) // handled at once, not a turn
		}
		return
	}
	// Never silent: a full queue still gets an answer.
	k.log.Warn("chat queue full, message refused", "session", in.SessionKey())
	k.done(in)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		k.log.Warn("stopping: busy answer not sent", "session", in.SessionKey())
		return
	}
	// Not on the caller's goroutine: Accept runs before the frame's ack.
	k.wg.Go(func() {
		ctx, cancel := context.WithTimeout(k.ctx, busyTimeout)
		defer cancel()
		out := picoclaw.Outbound{Channel: in.Channel, Chat: in.Chat, ReplyTo: in.MessageID, SenderID: in.SenderID, Text: BusyText}
		if err := k.send(ctx, out); err != nil {
			k.log.Warn("busy answer not delivered", "session", in.SessionKey(), "err", err)
		}
	})
}

// AfterTurn marks an answered message done; one cut short by shutdown
// stays pending and is answered after restart.
func (k *Intake) AfterTurn(in picoclaw.Inbound, err error) {
	if errors.Is(err, agent.ErrShutdown) {
		// Cancelled cleanly: the attempt does not count against it.
		if err := k.box.Release(in.MessageID); err != nil {
			k.log.Warn("inbox: release turn attempt", "session", in.SessionKey(), "err", err)
		}
		return
	}
	k.done(in)
}

// Attempt records that a turn for in starts (see agent.MaxAttempts).
func (k *Intake) Attempt(in picoclaw.Inbound) (int, error) { return k.box.Attempt(in.MessageID) }

// DeadLetter keeps a message given up on, with the reason; it is done.
func (k *Intake) DeadLetter(in picoclaw.Inbound, reason string) error {
	return k.box.DeadLetter(in, reason)
}

func (k *Intake) done(in picoclaw.Inbound) {
	if err := k.box.Done(in.MessageID); err != nil {
		k.log.Error("inbox: mark answered", "session", in.SessionKey(), "err", err)
	}
}

// Close cancels the busy answers still being sent and waits for them; a
// later refused message gets none. Call it after the channel's Run has
// returned and the dispatcher has finished, before the outbox closes.
func (k *Intake) Close() {
	k.mu.Lock()
	k.closed = true
	k.mu.Unlock()
	k.cancel()
	k.wg.Wait()
}
