package intake

import (
	"errors"
	"sync/atomic"
	"time"

	"picoclaw"
	"picoclaw/internal/backoff"
)

// spill is the local journal of a gateway sharing a queue: a message
// the queue could not take (NATS unreachable past sharedPatience) is
// journaled here before its frame is acked, so that a stop or crash
// during an outage loses nothing, and forward hands it to the queue
// once it takes messages again. While messages wait here, later ones
// join them, so a chat's messages reach the queue in the order they
// reached this gateway.
type spill struct {
	box  Journal
	poke chan struct{} // capacity 1: "a message was spilled"
	// warned is set while the spill holds messages: one warning per
	// outage, not one per message.
	warned atomic.Bool
}

func (s *spill) waiting() bool { return len(s.box.Pending()) > 0 }

// spillOne journals in locally; false if the disk refused it too.
func (k *Intake) spillOne(in picoclaw.Inbound) bool {
	if _, err := k.spill.box.Accept(in); err != nil {
		k.log.Error("shared queue unreachable and this gateway's disk refused the message too", "session", in.SessionKey(), "err", err)
		return false
	}
	if k.spill.warned.CompareAndSwap(false, true) {
		k.log.Warn("shared queue: NATS does not take messages; keeping them on this gateway's disk and forwarding them once it does",
			"session", in.SessionKey())
	}
	select {
	case k.spill.poke <- struct{}{}:
	default:
	}
	return true
}

// maxForwardFailures is how many failed forwards of one message are
// logged as a warning, and after which a refusal for good sets it aside.
const maxForwardFailures = 5

// refusedForGood tells a queue's refusal of a message (an answer saying
// no) from its being unreachable, which retrying cures.
func refusedForGood(err error) bool {
	var refused interface{ Refused() bool }
	return errors.As(err, &refused) && refused.Refused()
}

// forward hands the spilled messages to the queue, oldest first, each
// marked done in the spill once the queue has it (a crash in between
// publishes it again, which the queue's dedup by message id absorbs).
// It runs until Close; what is left stays on disk for the next start.
func (k *Intake) forward() {
	wait := &backoff.Backoff{Min: 250 * time.Millisecond, Max: 10 * time.Second}
	forwarded, failures := 0, 0
	for {
		pending := k.spill.box.Pending()
		if len(pending) == 0 {
			if forwarded > 0 {
				k.log.Info("shared queue: messages kept on disk during the outage forwarded", "count", forwarded)
				forwarded = 0
			}
			k.spill.warned.Store(false)
			select {
			case <-k.ctx.Done():
				return
			case <-k.spill.poke:
				continue
			}
		}
		for _, in := range pending {
			if _, err := k.box.Accept(in); err != nil {
				failures++
				if failures >= maxForwardFailures && refusedForGood(err) {
					// The queue answers, and refuses this one (too large,
					// say): kept aside with the reason, so the messages
					// behind it are not held for good.
					k.log.Error("shared queue refuses a message kept on disk; setting it aside", "session", in.SessionKey(), "err", err)
					if derr := k.spill.box.DeadLetter(in, "shared queue refused it: "+err.Error()); derr != nil {
						k.log.Error("spill: set aside a refused message", "session", in.SessionKey(), "err", derr)
					}
					failures = 0
					break
				}
				if failures%maxForwardFailures == 0 {
					k.log.Warn("shared queue: forwarding messages kept on disk keeps failing; retrying", "session", in.SessionKey(), "failures", failures, "err", err)
				}
				if wait.Wait(k.ctx) != nil {
					return
				}
				break
			}
			failures = 0
			wait.Reset()
			forwarded++
			if err := k.spill.box.Done(in.MessageID); err != nil {
				k.log.Warn("spill: mark forwarded; it will be forwarded again", "session", in.SessionKey(), "err", err)
			}
		}
	}
}
