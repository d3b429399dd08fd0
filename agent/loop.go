package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"picoclaw"
)

// DefaultMaxToolIterations bounds the tool rounds of one turn.
const DefaultMaxToolIterations = 20

// limitPrompt asks for a final answer once the tool rounds are used up. It
// is sent with the last request only and never stored.
func limitPrompt(n int) string {
	return fmt.Sprintf("You have used the maximum number of tool-call rounds (%d). Do not call any more tools. "+
		"Give your best answer now from what you have found so far, and say what is still missing.", n)
}

// limitLine is appended to an answer given after the tool-call limit.
func limitLine(n int) string {
	return fmt.Sprintf("\n\n（已达到工具调用上限 %d 次 / tool-call limit (%d) reached）", n, n)
}

// loopSpec is the input of one model/tool loop.
type loopSpec struct {
	in      picoclaw.Inbound    // carried to the tools in their context
	sink    picoclaw.StreamSink // nil: the answer is not streamed
	prefix  []picoclaw.Message  // system prompt and history
	user    picoclaw.Message
	tools   toolSet
	maxIter int
	log     *slog.Logger
	// shrink, if set, is tried once when the provider says the request
	// is too long; it returns a shorter prefix, or false.
	shrink func(ctx context.Context) ([]picoclaw.Message, bool)
}

// loopResult is what a loop produced. steps holds each assistant
// tool-call message followed by all its results, so any prefix of whole
// rounds is a consistent history, even when the loop failed.
type loopResult struct {
	steps     []picoclaw.Message
	answer    picoclaw.Message // the final assistant message; zero on error
	reasoning []string
	usage     picoclaw.Usage
	limitHit  bool
}

// loop asks the model, runs the tools it calls, gives it their results and
// asks again, until it answers without tool calls. After maxIter rounds it
// makes one last call without tools and marks the answer with limitLine.
func (a *Agent) loop(ctx context.Context, s loopSpec) (loopResult, error) {
	var r loopResult
	defs := s.tools.defs()
	toolCtx := WithInbound(ctx, s.in)
	// Only this loop's model calls stream: tools (a sub-agent) get none.
	callCtx := WithStreamSink(ctx, s.sink)
	toolCtx = WithStreamSink(toolCtx, nil)
	var toolTime time.Duration // spent in tool rounds so far
	shrunk := false
	for round := 0; ; {
		final := round >= s.maxIter
		msgs := make([]picoclaw.Message, 0, len(s.prefix)+len(r.steps)+2)
		msgs = append(msgs, s.prefix...)
		msgs = append(msgs, s.user)
		msgs = append(msgs, r.steps...)
		req := picoclaw.Request{
			Model:       a.modelOf(ctx).model,
			MaxTokens:   a.cfg.MaxTokens,
			Temperature: a.cfg.Temperature,
		}
		if final {
			msgs = append(msgs, picoclaw.Message{Role: picoclaw.RoleUser, Content: limitPrompt(s.maxIter)})
		} else {
			req.Tools = defs
		}
		req.Messages = msgs

		resp, err := a.complete(callCtx, req)
		if err != nil && errors.Is(err, picoclaw.ErrContextLength) && s.shrink != nil && !shrunk {
			shrunk = true
			if p, ok := s.shrink(ctx); ok {
				s.log.Info("agent: history compacted after a context-length error; retrying")
				s.prefix = p
				continue
			}
		}
		if err != nil {
			return r, err
		}
		r.usage.PromptTokens += resp.Usage.PromptTokens
		r.usage.CompletionTokens += resp.Usage.CompletionTokens
		if strings.TrimSpace(resp.Reasoning) != "" {
			r.reasoning = append(r.reasoning, resp.Reasoning)
		}

		if final || len(resp.ToolCalls) == 0 || len(defs) == 0 {
			content := resp.Content
			if strings.TrimSpace(content) == "" {
				s.log.Warn("agent: model returned an empty answer", "finish_reason", resp.FinishReason)
				// The placeholder is also what history keeps: some APIs
				// reject empty assistant messages on the next turn.
				content = emptyAnswer
			}
			if final {
				s.log.Warn("agent: tool-call limit reached", "limit", s.maxIter)
				r.limitHit = true
				content = strings.TrimRight(content, " \n") + limitLine(s.maxIter)
			}
			r.answer = picoclaw.Message{
				Role:      picoclaw.RoleAssistant,
				Content:   content,
				Reasoning: resp.Reasoning,
				Time:      time.Now(),
			}
			return r, nil
		}

		round++
		call := picoclaw.Message{
			Role:      picoclaw.RoleAssistant,
			Content:   resp.Content,
			Reasoning: resp.Reasoning,
			// Anthropic wants signed thinking back with the tool results.
			ReasoningSignature: resp.ReasoningSignature,
			ToolCalls:          resp.ToolCalls,
			Time:               time.Now(),
		}
		s.log.Debug("agent: running tools", "round", round, "calls", len(resp.ToolCalls))
		if s.sink != nil {
			s.sink.Round(toolStatus(resp.ToolCalls))
		}
		var results []picoclaw.Message
		if left := a.cfg.ToolTimeBudget - toolTime; left > 0 {
			roundCtx, cancelRound := context.WithTimeoutCause(toolCtx, left, errToolBudget)
			start := time.Now()
			results = a.runTools(roundCtx, s.tools, resp.ToolCalls)
			toolTime += time.Since(start)
			cancelRound()
		} else {
			s.log.Warn("agent: tool time budget used up; tools not run", "budget", a.cfg.ToolTimeBudget, "calls", len(resp.ToolCalls))
			results = a.refuseTools(resp.ToolCalls, "the tool time budget of this turn is used up; answer with what you have")
		}
		// Call and results go in together: history never holds a call
		// without its result.
		r.steps = append(r.steps, call)
		r.steps = append(r.steps, results...)
	}
}
