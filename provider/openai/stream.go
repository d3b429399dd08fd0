package openai

import (
	"sort"
	"strings"

	"picoclaw"
	"picoclaw/provider/internal/toolcall"
)

// chunk is the part of a chat.completion.chunk this package reads. It is
// decoded here rather than by go-openai because go-openai's delta has no
// field for OpenRouter's "reasoning".
type chunk struct {
	Choices []struct {
		Index int `json:"index"`
		Delta struct {
			Content          string `json:"content"`
			ReasoningContent string `json:"reasoning_content"`
			Reasoning        string `json:"reasoning"`
			ToolCalls        []struct {
				Index    *int   `json:"index"`
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

type toolAcc struct {
	id, name string
	args     strings.Builder
}

// accumulator builds a Response from chunks.
type accumulator struct {
	content, reasoning strings.Builder
	tools              map[int]*toolAcc
	finish             string
	usage              picoclaw.Usage
	onDelta            func(picoclaw.Delta)
}

// add folds one chunk in, reporting text pieces to onDelta. Only choice 0
// is read (n is never set); a usage-only chunk has no choices at all.
func (a *accumulator) add(c *chunk) {
	if c.Usage != nil {
		a.usage = picoclaw.Usage{PromptTokens: c.Usage.PromptTokens, CompletionTokens: c.Usage.CompletionTokens}
	}
	for i := range c.Choices {
		ch := &c.Choices[i]
		if ch.Index != 0 {
			continue
		}
		d := &ch.Delta
		r := d.ReasoningContent
		if r == "" {
			r = d.Reasoning
		}
		if r != "" {
			a.reasoning.WriteString(r)
			a.emit(picoclaw.Delta{Reasoning: r})
		}
		if d.Content != "" {
			a.content.WriteString(d.Content)
			a.emit(picoclaw.Delta{Content: d.Content})
		}
		for j, tc := range d.ToolCalls {
			idx := j // servers that omit index send one call per position
			if tc.Index != nil {
				idx = *tc.Index
			}
			if a.tools == nil {
				a.tools = make(map[int]*toolAcc)
			}
			t := a.tools[idx]
			if t == nil {
				t = &toolAcc{}
				a.tools[idx] = t
			}
			if tc.ID != "" {
				t.id = tc.ID
			}
			if tc.Function.Name != "" {
				t.name = tc.Function.Name
			}
			t.args.WriteString(tc.Function.Arguments)
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			a.finish = *ch.FinishReason
		}
	}
}

func (a *accumulator) emit(d picoclaw.Delta) {
	if a.onDelta != nil {
		a.onDelta(d)
	}
}

// response returns the accumulated completion; tool calls are ordered by
// index.
func (a *accumulator) response() *picoclaw.Response {
	resp := &picoclaw.Response{
		Content:      a.content.String(),
		Reasoning:    a.reasoning.String(),
		FinishReason: a.finish,
		Usage:        a.usage,
	}
	idx := make([]int, 0, len(a.tools))
	for i := range a.tools {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	for _, i := range idx {
		t := a.tools[i]
		resp.ToolCalls = append(resp.ToolCalls, picoclaw.ToolCall{
			ID: t.id, Name: t.name, Arguments: toolcall.Args(t.args.String()),
		})
	}
	return resp
}
