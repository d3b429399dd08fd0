package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"picoclaw"
)

// ToolRunner runs the tools offered to the model; *tools.Registry is one.
// It is an interface so that this package does not import the concrete
// tools.
type ToolRunner interface {
	Defs() []picoclaw.ToolDef
	Call(ctx context.Context, name string, args json.RawMessage) (string, error)
}

type inboundKey struct{}

// WithInbound returns ctx carrying in, the message whose turn is running,
// so that tools (message, spawn, cron) know the chat they act for.
func WithInbound(ctx context.Context, in picoclaw.Inbound) context.Context {
	return context.WithValue(ctx, inboundKey{}, in)
}

// InboundFrom returns the message whose turn ctx belongs to.
func InboundFrom(ctx context.Context) (picoclaw.Inbound, bool) {
	in, ok := ctx.Value(inboundKey{}).(picoclaw.Inbound)
	return in, ok
}

// toolSet is what one loop offers the model: the configured runner plus,
// for top-level turns, the agent's own spawn tool.
type toolSet struct {
	runner ToolRunner // nil: none
	spawn  *Agent     // nil: spawn is not offered
	log    *slog.Logger
}

func (t toolSet) defs() []picoclaw.ToolDef {
	var defs []picoclaw.ToolDef
	if t.runner != nil {
		for _, d := range t.runner.Defs() {
			// The agent's own spawn wins; two tools of one name would
			// confuse the model and the provider.
			if t.spawn != nil && d.Name == spawnToolName {
				continue
			}
			defs = append(defs, d)
		}
	}
	if t.spawn != nil && len(defs) > 0 {
		defs = append(defs, spawnDef())
	}
	return defs
}

// call runs one tool, turning a panic into an error: tools run on their
// own goroutines, where a panic would take the whole process down.
func (t toolSet) call(ctx context.Context, name string, args json.RawMessage) (out string, err error) {
	defer func() {
		if p := recover(); p != nil {
			t.log.Error("agent: tool panicked", "tool", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out, err = "", fmt.Errorf("tool %s failed: internal error (panic: %v)", name, p)
		}
	}()
	if t.spawn != nil && name == spawnToolName {
		return t.spawn.spawn(ctx, args)
	}
	if t.runner == nil {
		return "", fmt.Errorf("unknown tool %q: no tools are available", name)
	}
	return t.runner.Call(ctx, name, args)
}

// runTools runs calls concurrently and returns one tool message per call,
// in call order. A failed call's error becomes its result, for the model
// to read; it never ends the turn.
func (a *Agent) runTools(ctx context.Context, ts toolSet, calls []picoclaw.ToolCall) []picoclaw.Message {
	out := make([]picoclaw.Message, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			text, err := ts.call(ctx, c.Name, c.Arguments)
			if err != nil {
				text = "error: " + err.Error()
			}
			out[i] = picoclaw.Message{
				Role:       picoclaw.RoleTool,
				Content:    text,
				ToolCallID: c.ID,
				Name:       c.Name,
				Time:       a.cfg.Now(),
			}
		})
	}
	wg.Wait()
	return out
}
