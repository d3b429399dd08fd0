package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"picoclaw"
	"picoclaw/agent"
	"picoclaw/inbox"
)

// busyText answers a message refused because its chat's queue is full.
const busyText = "我正忙着处理之前的消息，请稍后再发。I'm still working through earlier messages; please try again shortly."

// intake journals each accepted message before its frame is acked, hands
// it to the dispatcher, and marks it done once answered, so that a crash
// loses nothing and a redelivery is never answered twice.
type intake struct {
	box  *inbox.Inbox
	disp *agent.Dispatcher
	send func(context.Context, picoclaw.Outbound) error
	log  *slog.Logger
}

// accept is the channel's handle func: it runs before the frame's ack.
func (k *intake) accept(in picoclaw.Inbound) {
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

// replay answers the messages accepted but not answered before the last
// stop.
func (k *intake) replay() {
	pending := k.box.Pending()
	if len(pending) == 0 {
		return
	}
	k.log.Info("answering messages accepted before the last stop", "count", len(pending))
	for _, in := range pending {
		k.dispatch(in)
	}
}

func (k *intake) dispatch(in picoclaw.Inbound) {
	if k.disp.Dispatch(in) {
		if agent.IsStopCommand(in.Text) {
			k.done(in) // handled at once, not a turn
		}
		return
	}
	// Never silent: a full queue still gets an answer.
	k.log.Warn("chat queue full, message refused", "session", in.SessionKey())
	k.done(in)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = k.send(ctx, picoclaw.Outbound{Channel: in.Channel, Chat: in.Chat, ReplyTo: in.MessageID, SenderID: in.SenderID, Text: busyText})
	}()
}

// afterTurn marks an answered message done; one cut short by shutdown
// stays pending and is answered after restart.
func (k *intake) afterTurn(in picoclaw.Inbound, err error) {
	if errors.Is(err, agent.ErrShutdown) {
		// Cancelled cleanly: the attempt does not count against it.
		if err := k.box.Release(in.MessageID); err != nil {
			k.log.Warn("inbox: release turn attempt", "session", in.SessionKey(), "err", err)
		}
		return
	}
	k.done(in)
}

// attempt records that a turn for in starts (see agent.MaxAttempts).
func (k *intake) attempt(in picoclaw.Inbound) (int, error) { return k.box.Attempt(in.MessageID) }

// deadLetter keeps a message given up on, with the reason.
func (k *intake) deadLetter(in picoclaw.Inbound, reason string) error {
	return k.box.DeadLetter(in, reason)
}

func (k *intake) done(in picoclaw.Inbound) {
	if err := k.box.Done(in.MessageID); err != nil {
		k.log.Error("inbox: mark answered", "session", in.SessionKey(), "err", err)
	}
}
