package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"picoclaw"
	"picoclaw/outbox"
)

// outboxDrain bounds how long a stopping gateway waits for answers still
// being delivered (within shutdown's exit slack); what is left stays on
// disk for the next start. Cutting a delivery short risks sending its
// part in flight twice, never losing it.
const outboxDrain = 1500 * time.Millisecond

// partSender is a channel that can resume an answer after its accepted
// parts (dingtalk.Channel).
type partSender interface {
	SendParts(ctx context.Context, out picoclaw.Outbound, from int, accepted func(part int, last bool)) error
}

// gatewayTuning shortens the gateway's waits for in-process tests; the
// zero value is the real thing.
type gatewayTuning struct {
	// callTimeout replaces the 15 s bound of short DingTalk calls.
	callTimeout time.Duration
	// minBackoff and maxBackoff replace the backoff bounds of the outbox
	// and of the retries inside one DingTalk call.
	minBackoff, maxBackoff time.Duration
	// reloadInterval replaces how often the config file is looked at;
	// reloaded is told each reload's outcome; hup stands in for SIGHUP.
	reloadInterval time.Duration
	reloaded       func(error)
	hup            <-chan os.Signal
}

// openOutbox opens the outbox in dir and starts delivering through
// channels. Answers Put before a crash are delivered now.
func (e *env) openOutbox(dir string, channels map[string]picoclaw.Channel, log *slog.Logger) (*outbox.Outbox, error) {
	deliver := func(ctx context.Context, out picoclaw.Outbound, from int, accepted func(int, bool)) error {
		c, ok := channels[out.Channel]
		if !ok {
			return fmt.Errorf("gateway: send: unknown channel %q", out.Channel)
		}
		if ps, ok := c.(partSender); ok {
			return ps.SendParts(ctx, out, from, accepted)
		}
		return c.Send(ctx, out)
	}
	ob, err := outbox.Open(dir, outbox.Options{
		Deliver:    deliver,
		Logger:     log.With("component", "outbox"),
		MinBackoff: e.tuning.minBackoff,
		MaxBackoff: e.tuning.maxBackoff,
	})
	if err != nil {
		return nil, err
	}
	ob.Start()
	return ob, nil
}

// viaOutbox returns the agent's send: the answer is put in the outbox
// (on disk) and delivered from there, so a turn is done, and its message
// marked answered, once its answer is durable. If the outbox cannot take
// it (disk full), the answer is still delivered directly, without the
// outbox's guarantee, rather than lost.
func viaOutbox(ob *outbox.Outbox, direct func(context.Context, picoclaw.Outbound) error, log *slog.Logger) func(context.Context, picoclaw.Outbound) error {
	return func(ctx context.Context, out picoclaw.Outbound) error {
		err := ob.Put(ctx, out)
		if err == nil {
			return nil
		}
		log.Error("outbox: answer not saved; delivering it directly, without retries across restarts",
			"chat", string(picoclaw.NewSessionKey(out.Channel, out.Chat)), "err", err)
		return direct(ctx, out)
	}
}

// closeOutbox lets answers in flight finish for a moment (within the
// shutdown bound, see drainContext), then stops delivery; undelivered
// answers stay on disk.
func (e *env) closeOutbox(ob *outbox.Outbox, log *slog.Logger) {
	ctx, cancel := e.drainContext(outboxDrain)
	defer cancel()
	if err := ob.Drain(ctx); err != nil {
		log.Warn("shutdown: undelivered answers kept for the next start", "err", err)
	}
	if err := ob.Close(); err != nil {
		log.Warn("shutdown: close outbox", "err", err)
	}
}

// outboxHealth is the "outbox" object of /health.
func outboxHealth(st outbox.Stats, now time.Time) map[string]any {
	return map[string]any{
		"pending":          st.Pending,
		"oldest_age_s":     int64(st.OldestAge(now) / time.Second),
		"failed_permanent": st.FailedPermanent,
	}
}

// printOutboxStatus writes the outbox line of `picoclaw status`, read from
// the files (no gateway needs to run).
func printOutboxStatus(w io.Writer, dir string, now time.Time) {
	st, err := outbox.Inspect(dir)
	switch {
	case err != nil:
		fmt.Fprintf(w, "outbox:    %s (unreadable: %v)\n", dir, err)
	case st.Pending == 0:
		fmt.Fprintf(w, "outbox:    %s (nothing waiting; %d failed for good)\n", dir, st.FailedPermanent)
	default:
		fmt.Fprintf(w, "outbox:    %s (%d answers waiting for delivery, oldest %s old; %d failed for good)\n",
			dir, st.Pending, st.OldestAge(now).Round(time.Second), st.FailedPermanent)
	}
	if st.FailedPermanent > 0 {
		fmt.Fprintf(w, "           answers that failed for good, with the reason: %s/%s\n", dir, outbox.DeadName)
	}
}
