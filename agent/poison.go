package agent

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"picoclaw"
)

// MaxAttempts is how many times a message's turn may fail to finish (a
// panic, or the process dying mid-turn) before the message is given up
// on: answered with an apology and dead-lettered, so that a poison message
// is never replayed forever. A turn that times out is answered with an
// apology at once and dead-lettered with the reason, never re-run: its
// tools may already have acted.
const MaxAttempts = 2

// ErrCrashed is the error of a turn that panicked.
var ErrCrashed = errors.New("agent: turn crashed")

// ErrGaveUp is the error AfterTurn gets for a message given up on.
var ErrGaveUp = errors.New("agent: message given up after repeated failures")

// GaveUpText is the apology for a message given up on.
const GaveUpText = "抱歉，这条消息多次处理失败，已放弃处理，请换个说法再试。Sorry, this message failed more than once and has been set aside; please try rephrasing it."

// safeTurn runs the turn, turning a panic into ErrCrashed.
func (a *Agent) safeTurn(ctx context.Context, in picoclaw.Inbound) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a.log.Error("agent: turn panicked", "session", string(in.SessionKey()), "message_id", in.MessageID,
				"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: panic: %v", ErrCrashed, r)
		}
	}()
	return a.Turn(ctx, in)
}

// attemptTurns runs in's turn, retrying a crashed one, and gives the
// message up once MaxAttempts turns have failed to finish. attempt, when
// set, records a start on disk (surviving the process's death) and returns the attempt number (0 when it
// does not know the message); without it attempts are counted here only.
func (a *Agent) attemptTurns(ctx context.Context, in picoclaw.Inbound, o DispatcherOptions) error {
	var last error
	for try := 1; ; try++ {
		n := try
		if o.Attempt != nil {
			if m, err := o.Attempt(in); err != nil {
				a.log.Warn("agent: record turn attempt", "session", string(in.SessionKey()), "err", err)
			} else if m > 0 {
				n = m
			}
		}
		if n > MaxAttempts {
			reason := fmt.Sprintf("%d earlier turns did not finish (crash, kill or stop)", n-1)
			if last != nil {
				reason = fmt.Sprintf("turn failed %d times: %v", n-1, last)
			}
			return a.giveUp(ctx, in, reason, o)
		}
		err := a.safeTurn(ctx, in)
		if errors.Is(err, ErrTurnTimeout) && o.DeadLetter != nil {
			// Answered with an apology already; not re-run (its tools
			// may have acted), but kept for the operator to look at.
			if derr := o.DeadLetter(in, err.Error()); derr != nil {
				a.log.Error("agent: dead-letter timed-out message", "session", string(in.SessionKey()), "err", derr)
			}
		}
		if !errors.Is(err, ErrCrashed) || ctx.Err() != nil {
			return err
		}
		last = err
	}
}

// giveUp apologises for in and dead-letters it.
func (a *Agent) giveUp(ctx context.Context, in picoclaw.Inbound, reason string, o DispatcherOptions) error {
	log := a.log.With("session", string(in.SessionKey()), "message_id", in.MessageID)
	log.Error("agent: giving up on a message", "reason", reason)
	sendErr := a.send(ctx, log, in, picoclaw.OutAnswer, GaveUpText)
	if o.DeadLetter != nil {
		if err := o.DeadLetter(in, reason); err != nil {
			log.Error("agent: dead-letter message", "err", err)
		}
	}
	return errors.Join(fmt.Errorf("agent: turn %s: %w: %s", in.SessionKey(), ErrGaveUp, reason), sendErr)
}
