package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"picoclaw/agent"
)

const (
	// shutdownGrace bounds how long running turns may finish after a
	// signal.
	shutdownGrace = 20 * time.Second
	// exitSlack: the process is gone within shutdownGrace + exitSlack of
	// the first signal (exitSlack of a second one), whatever a turn or a
	// tool is doing.
	exitSlack = 2 * time.Second
)

// notifyShutdown turns SIGINT and SIGTERM into two contexts: the first
// signal cancels stop (stop taking messages, finish the turns running),
// the second cancels now (cancel those turns at once; their messages stay
// in the journal and are answered after the restart). Should stopping
// still overrun, a watchdog writes why to stderr and calls exit(1) just
// before the bound (grace + exitSlack). release stops listening.
func notifyShutdown(stderr io.Writer, exit func(int), grace time.Duration) (stop, now context.Context, release func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	stop, cancelStop := context.WithCancel(context.Background())
	now, cancelNow := context.WithCancel(context.Background())
	done := make(chan struct{})
	overrun := func() {
		fmt.Fprintln(stderr, "picoclaw: still stopping at the shutdown deadline; exiting now (unfinished messages are answered after the restart)")
		exit(1)
	}
	go func() {
		var watchdog *time.Timer
		defer func() {
			if watchdog != nil {
				watchdog.Stop()
			}
		}()
		for n := 0; ; n++ {
			select {
			case <-done:
				return
			case <-sigs:
			}
			// A margin under the bound leaves time for the exit itself.
			limit := grace + exitSlack - 300*time.Millisecond
			if n == 0 {
				cancelStop()
			} else {
				cancelNow()
				watchdog.Stop()
				limit = exitSlack - 300*time.Millisecond
			}
			watchdog = time.AfterFunc(limit, overrun)
		}
	}()
	return stop, now, func() {
		signal.Stop(sigs)
		close(done)
		cancelStop()
		cancelNow()
	}
}

// announceStop logs, the moment ctx (the first signal) ends, what the
// gateway is waiting for, and when the second signal comes, that it stops
// now. The returned func stops watching.
func (e *env) announceStop(ctx context.Context, d *agent.Dispatcher, log *slog.Logger) func() {
	stopFirst := context.AfterFunc(ctx, func() {
		by := time.Now().Add(shutdownGrace)
		e.stopBy.Store(&by)
		n := d.Pending()
		if n == 0 {
			log.Info("stopping: no answers in progress")
			return
		}
		log.Info(fmt.Sprintf("stopping: finishing %d answers, up to %d s; Ctrl-C again to stop now", n, int(shutdownGrace.Seconds())), "answers", n)
	})
	stopSecond := context.AfterFunc(e.stopNowContext(), func() {
		log.Warn("stopping now (second signal): unfinished answers stay in the journal and are given after the restart", "answers", d.Pending())
	})
	return func() {
		stopFirst()
		stopSecond()
	}
}

// finishTurns lets the dispatcher finish its turns for up to
// shutdownGrace, or until a second signal; then it cancels them. It
// returns within shutdownGrace plus the dispatcher's AbandonAfter.
func (e *env) finishTurns(d *agent.Dispatcher, log *slog.Logger) {
	deadline := time.Now().Add(shutdownGrace)
	if by := e.stopBy.Load(); by != nil && by.Before(deadline) {
		deadline = *by // counted from the signal, not from here
	}
	ctx, cancel := context.WithDeadline(e.stopNowContext(), deadline)
	defer cancel()
	if err := d.Shutdown(ctx); err != nil {
		log.Warn("shutdown: unfinished turns cancelled; their messages stay in the journal and are answered after the restart", "err", err)
	}
}

// stopNowContext is cancelled by a second signal (never, for in-process
// runs without signals).
func (e *env) stopNowContext() context.Context {
	if e.stopNow == nil {
		return context.Background()
	}
	return e.stopNow
}

// drainContext bounds the delivery of the last answers at shutdown: at
// most max, never past the shutdown bound (the first signal +
// shutdownGrace + 1 s, leaving the rest of exitSlack for closing), and not
// at all after a second signal. What is not delivered stays on disk.
func (e *env) drainContext(max time.Duration) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(max)
	if by := e.stopBy.Load(); by != nil && by.Add(time.Second).Before(deadline) {
		deadline = by.Add(time.Second)
	}
	return context.WithDeadline(e.stopNowContext(), deadline)
}
