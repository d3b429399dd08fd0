package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"picoclaw"
	"picoclaw/internal/text"
)

// Per-turn limits (defaults for zero Config fields, and fixed caps).
const (
	// DefaultMaxAnswerBytes caps one answer (and its reasoning): the model's
	// stream is cut off there.
	DefaultMaxAnswerBytes = 64 << 10
	// DefaultToolTimeBudget bounds the time all tool rounds of one turn
	// may take together.
	DefaultToolTimeBudget = 5 * time.Minute
	// MaxParallelTools is how many tool calls of one model reply run at
	// once; the rest wait for a free slot.
	MaxParallelTools = 4
	// maxToolResultBytes caps one tool result given to the model (read_file
	// returns up to 256 KiB, so this leaves room for its note).
	maxToolResultBytes = 260 << 10
	// maxStoredToolResultBytes caps one tool result kept in the session
	// history, which every later turn loads and sends again.
	maxStoredToolResultBytes = 16 << 10
	// toolGrace is how long a turn whose time is up waits for its running
	// tools to notice; a tool still running then is left behind.
	toolGrace = 500 * time.Millisecond
)

// TruncatedMark ends an answer that was cut off at MaxAnswerBytes.
const TruncatedMark = "\n\n[answer truncated]"

// errAnswerCut is the cause with which an over-long stream is cancelled.
var errAnswerCut = errors.New("agent: answer reached max_answer_bytes")

// errToolBudget is the cause of a tool round cancelled because the turn's
// tool time is used up.
var errToolBudget = errors.New("agent: the turn's tool time budget is used up")

// capText cuts s to max bytes, saying so at the end.
func capText(s string, max int, what string) string {
	if len(s) <= max {
		return s
	}
	return text.Truncate(s, max) + fmt.Sprintf("\n\n[%s truncated: %d of %d bytes kept]", what, max, len(s))
}

// capped is a stream collector: it keeps up to max bytes of the answer and
// of the reasoning, and cancels the request once either goes past max, so
// neither the gateway's memory nor the answer grows with what the model
// sends.
type capped struct {
	max                int
	content, reasoning strings.Builder
	cut                bool
	cancel             context.CancelCauseFunc
	sink               picoclaw.StreamSink // nil: none
}

func (c *capped) onDelta(d picoclaw.Delta) {
	if c.cut {
		return
	}
	c.content.WriteString(d.Content)
	c.reasoning.WriteString(d.Reasoning)
	if c.content.Len() > c.max || c.reasoning.Len() > c.max {
		c.cut = true
		c.cancel(errAnswerCut)
		return
	}
	if c.sink != nil {
		c.sink.Delta(d)
	}
}

// response is the answer of a cut-off stream: what came, up to max, with
// TruncatedMark.
func (c *capped) response() *picoclaw.Response {
	return &picoclaw.Response{
		Content:      text.Truncate(c.content.String(), c.max) + TruncatedMark,
		Reasoning:    text.Truncate(c.reasoning.String(), c.max),
		FinishReason: "max_answer_bytes",
	}
}

// completeCapped makes one model call whose answer is cut off at
// MaxAnswerBytes: the stream is cancelled there and the answer ends with
// TruncatedMark. A provider that does not stream is capped afterwards.
func (a *Agent) completeCapped(ctx context.Context, req picoclaw.Request) (*picoclaw.Response, error) {
	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	c := &capped{max: a.cfg.MaxAnswerBytes, cancel: cancel, sink: streamSinkFrom(ctx)}
	resp, err := a.modelOf(ctx).provider.Complete(callCtx, req, c.onDelta)
	if c.cut && ctx.Err() == nil {
		a.log.Warn("agent: answer cut off at max_answer_bytes", "max_answer_bytes", c.max)
		return c.response(), nil
	}
	if err != nil || resp == nil {
		return resp, err
	}
	if len(resp.Content) > c.max {
		a.log.Warn("agent: answer cut off at max_answer_bytes", "max_answer_bytes", c.max, "answer_len", len(resp.Content))
		resp.Content = text.Truncate(resp.Content, c.max) + TruncatedMark
		resp.ToolCalls = nil
	}
	resp.Reasoning = text.Truncate(resp.Reasoning, c.max)
	return resp, nil
}

// whyNotFinished says, for the model, why a tool call was abandoned.
func whyNotFinished(ctx context.Context) string {
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errToolBudget):
		return "the tool time budget of this turn is used up; answer with what you have"
	case errors.Is(cause, ErrStopped):
		return "the user stopped this turn"
	case errors.Is(cause, ErrShutdown):
		return "the assistant is shutting down"
	case errors.Is(cause, context.DeadlineExceeded):
		return "the time limit of this turn was reached"
	default:
		return fmt.Sprint(cause)
	}
}
