package anthropic

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	goanthropic "github.com/liushuangls/go-anthropic/v2"

	"picoclaw"
	"picoclaw/provider/internal/toolcall"
)

// block is one content block of the streamed message.
type block struct {
	kind     goanthropic.MessagesContentType
	id, name string
	input    json.RawMessage // tool_use input given whole in content_block_start
	args     strings.Builder // input_json_delta fragments
	hasArgs  bool
}

// accumulator builds a Response from go-anthropic's stream callbacks,
// which run on the goroutine that called Complete. It reads the events
// itself rather than go-anthropic's accumulated message so that deltas
// reach onDelta as they arrive and tool input is keyed by block index.
type accumulator struct {
	onDelta func(picoclaw.Delta)

	started, stopped   bool
	content, reasoning strings.Builder
	// signature is that of the thinking block when there is exactly one;
	// it reaches Response.ReasoningSignature.
	signature  string
	thinkings  int
	blocks     map[int]*block
	stopReason string
	usage      picoclaw.Usage
}

func (a *accumulator) messageStart(d goanthropic.MessagesEventMessageStartData) {
	a.started = true
	a.usage = usage(d.Message.Usage, a.usage)
}

// usage maps Anthropic's counts: input_tokens leaves out cached tokens,
// which still fill the context. OpenRouter sends zeros in message_start
// and the real counts in message_delta, so zero counts keep prev.
func usage(u goanthropic.MessagesUsage, prev picoclaw.Usage) picoclaw.Usage {
	if in := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens; in > 0 {
		prev.PromptTokens = in
	}
	if u.OutputTokens > 0 {
		prev.CompletionTokens = u.OutputTokens
	}
	return prev
}

func (a *accumulator) block(i int, kind goanthropic.MessagesContentType) *block {
	if a.blocks == nil {
		a.blocks = make(map[int]*block)
	}
	b := a.blocks[i]
	if b == nil {
		b = &block{kind: kind}
		a.blocks[i] = b
	}
	return b
}

func (a *accumulator) blockStart(d goanthropic.MessagesEventContentBlockStartData) {
	cb := d.ContentBlock
	b := a.block(d.Index, cb.Type)
	switch cb.Type {
	case goanthropic.MessagesContentTypeToolUse:
		if cb.MessageContentToolUse != nil {
			b.id, b.name, b.input = cb.ID, cb.Name, cb.Input
		}
	case goanthropic.MessagesContentTypeThinking:
		a.thinkings++
		if cb.MessageContentThinking != nil {
			a.addReasoning(cb.Thinking)
			a.signature = cb.Signature
		}
	case goanthropic.MessagesContentTypeText:
		a.addContent(cb.GetText())
	}
}

func (a *accumulator) blockDelta(d goanthropic.MessagesEventContentBlockDeltaData) {
	dl := d.Delta
	switch dl.Type {
	case goanthropic.MessagesContentTypeTextDelta:
		a.addContent(dl.GetText())
	case goanthropic.MessagesContentTypeThinkingDelta:
		if dl.MessageContentThinking != nil {
			a.addReasoning(dl.Thinking)
		}
	case goanthropic.MessagesContentTypeSignatureDelta:
		if dl.MessageContentThinking != nil {
			a.signature += dl.Signature
		}
	case goanthropic.MessagesContentTypeInputJsonDelta:
		b := a.block(d.Index, goanthropic.MessagesContentTypeToolUse)
		if dl.PartialJson != nil {
			b.args.WriteString(*dl.PartialJson)
			b.hasArgs = true
		}
	}
}

func (a *accumulator) messageDelta(d goanthropic.MessagesEventMessageDeltaData) {
	if d.Delta.StopReason != "" {
		a.stopReason = string(d.Delta.StopReason)
	}
	a.usage = usage(d.Usage, a.usage)
}

func (a *accumulator) messageStop(goanthropic.MessagesEventMessageStopData) { a.stopped = true }

func (a *accumulator) addContent(s string) {
	if s == "" {
		return
	}
	a.content.WriteString(s)
	if a.onDelta != nil {
		a.onDelta(picoclaw.Delta{Content: s})
	}
}

func (a *accumulator) addReasoning(s string) {
	if s == "" {
		return
	}
	a.reasoning.WriteString(s)
	if a.onDelta != nil {
		a.onDelta(picoclaw.Delta{Reasoning: s})
	}
}

// end checks a stream that ended without an error event.
func (a *accumulator) end() error {
	switch {
	case !a.started:
		return fmt.Errorf("%w: no message_start event in the answer", picoclaw.ErrBadResponse)
	case !a.stopped:
		// go-anthropic reports a closed body as a normal end; a stream
		// without message_stop was cut short.
		return fmt.Errorf("%w: stream ended before message_stop: %w", picoclaw.ErrTemporary, io.ErrUnexpectedEOF)
	}
	return nil
}

// response returns the accumulated message; tool calls are ordered by
// block index.
func (a *accumulator) response() *picoclaw.Response {
	resp := &picoclaw.Response{
		Content:      a.content.String(),
		Reasoning:    a.reasoning.String(),
		FinishReason: a.stopReason,
		// A later call of the same tool round sends the signed thinking back.
		ReasoningSignature: a.reasoningSignature(),
		Usage:              a.usage,
	}
	idx := make([]int, 0, len(a.blocks))
	for i, b := range a.blocks {
		if b.kind == goanthropic.MessagesContentTypeToolUse {
			idx = append(idx, i)
		}
	}
	slices.Sort(idx)
	for _, i := range idx {
		b := a.blocks[i]
		args := toolcall.Args(b.args.String())
		if !b.hasArgs && len(b.input) > 0 {
			args = toolcall.Args(string(b.input))
		}
		resp.ToolCalls = append(resp.ToolCalls, picoclaw.ToolCall{ID: b.id, Name: b.name, Arguments: args})
	}
	return resp
}

// reasoningSignature returns the signature of the message's thinking, or
// "" when there is none or more than one thinking block.
func (a *accumulator) reasoningSignature() string {
	if a.thinkings != 1 {
		return ""
	}
	return a.signature
}
