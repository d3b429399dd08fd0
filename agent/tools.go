package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

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

// runTools runs calls, at most MaxParallelTools at once, and returns one
// tool message per call, in call order. A failed call's error becomes its
// result, for the model to read; it never ends the turn. When ctx ends,
// runTools returns at once: calls still waiting are not run, and calls
// still running (a tool deaf to its context) are left behind with an error
// as their result, so no tool can hold the turn past its time.
func (a *Agent) runTools(ctx context.Context, ts toolSet, calls []picoclaw.ToolCall) []picoclaw.Message {
	type result struct {
		i    int
		text string
	}
	// Buffered for every call, so a tool that finishes after runTools
	// returned never blocks.
	results := make(chan result, len(calls))
	slots := make(chan struct{}, MaxParallelTools)
	for i, c := range calls {
		go func() {
			text, err := func() (string, error) {
				select {
				case slots <- struct{}{}:
				default:
					// Only a call that has to wait for a slot is dropped
					// when ctx ends; one that gets a slot runs and sees
					// ctx itself.
					select {
					case slots <- struct{}{}:
					case <-ctx.Done():
						return "", fmt.Errorf("tool %s was not run: %s", c.Name, whyNotFinished(ctx))
					}
				}
				defer func() { <-slots }()
				return ts.call(ctx, c.Name, c.Arguments)
			}()
			if err != nil {
				text = "error: " + err.Error()
			}
			results <- result{i, capText(text, maxToolResultBytes, "tool result")}
		}()
	}
	texts := make([]string, len(calls))
	have := make([]bool, len(calls))
	var grace <-chan time.Time // set once ctx ends
	done := ctx.Done()
collect:
	for n := 0; n < len(calls); n++ {
		select {
		case r := <-results:
			texts[r.i], have[r.i] = r.text, true
		case <-done:
			// Tools that honour ctx return at once; give them a moment,
			// then leave the rest behind.
			done = nil
			t := time.NewTimer(toolGrace)
			defer t.Stop()
			grace = t.C
			n--
		case <-grace:
			break collect
		}
	}
	out := make([]picoclaw.Message, len(calls))
	for i, c := range calls {
		if !have[i] {
			ts.log.Warn("agent: tool did not finish; left behind", "tool", c.Name, "cause", context.Cause(ctx))
			texts[i] = fmt.Sprintf("error: tool %s did not finish: %s", c.Name, whyNotFinished(ctx))
		}
		out[i] = picoclaw.Message{
			Role:       picoclaw.RoleTool,
			Content:    texts[i],
			ToolCallID: c.ID,
			Name:       c.Name,
			Time:       time.Now(),
		}
	}
	return out
}

// refuseTools answers every call with an error saying why it was not run.
func (a *Agent) refuseTools(calls []picoclaw.ToolCall, why string) []picoclaw.Message {
	out := make([]picoclaw.Message, len(calls))
	for i, c := range calls {
		out[i] = picoclaw.Message{
			Role:       picoclaw.RoleTool,
			Content:    fmt.Sprintf("error: tool %s was not run: %s", c.Name, why),
			ToolCallID: c.ID,
			Name:       c.Name,
			Time:       time.Now(),
		}
	}
	return out
}
