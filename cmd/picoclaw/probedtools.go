package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"picoclaw"
	"picoclaw/tools"
)

// trialWaitLimit bounds how long the trial waits for a first connection
// (a bot with a wrong secret may never connect).
const trialWaitLimit = 5 * time.Second

// probedTools is the tool registry as the agent sees it while the exec
// sandbox runs its trial command. That trial starts this binary again in
// new namespaces (10–30 ms, more on a busy machine), so it runs while the
// gateway opens its data and connects instead of before; a turn asks for
// the tools only once it is over, so the model is offered exec exactly
// when the sandbox works, as when the trial ran first.
type probedTools struct {
	reg   *tools.Registry
	ready chan struct{} // closed once the trial is over (or there is none)

	mu     sync.Mutex
	cancel context.CancelFunc // ends the trial; nil when none runs
	done   chan struct{}      // closed when the trial's goroutine has returned
}

func newProbedTools(reg *tools.Registry) *probedTools {
	return &probedTools{reg: reg, ready: make(chan struct{})}
}

// settle says there is no trial to wait for.
func (t *probedTools) settle() { close(t.ready) }

// trial runs run (the sandbox's trial command, which logs its outcome) in
// the background and registers ex if it passes.
// It starts once after is closed (nil: at once), or after trialWaitLimit
// when no bot connects.
func (t *probedTools) trial(ctx context.Context, after <-chan struct{}, run func(context.Context) bool, ex picoclaw.Tool, log *slog.Logger) {
	ctx, cancel := context.WithCancel(ctx)
	t.mu.Lock()
	t.cancel, t.done = cancel, make(chan struct{})
	done := t.done
	t.mu.Unlock()
	go func() {
		defer close(done)
		defer close(t.ready)
		defer cancel()
		if after != nil {
			select {
			case <-after:
			case <-time.After(trialWaitLimit):
			case <-ctx.Done():
				return
			}
		}
		if run(ctx) {
			if err := t.reg.Register(ex); err != nil {
				log.Error("exec tool not offered: "+err.Error(), "component", "exec")
			}
		}
	}()
}

// stop ends a trial still running and waits for its goroutine.
func (t *probedTools) stop() {
	t.mu.Lock()
	cancel, done := t.cancel, t.done
	t.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Defs returns the registry's definitions once the trial is over. The
// wait is bounded: the trial has its own timeout, and stop ends it.
func (t *probedTools) Defs() []picoclaw.ToolDef {
	<-t.ready
	return t.reg.Defs()
}

// Call runs a tool once the trial is over.
func (t *probedTools) Call(ctx context.Context, name string, args json.RawMessage) (string, error) {
	select {
	case <-t.ready:
	case <-ctx.Done():
		return "", fmt.Errorf("tool %s: %w", name, context.Cause(ctx))
	}
	return t.reg.Call(ctx, name, args)
}
