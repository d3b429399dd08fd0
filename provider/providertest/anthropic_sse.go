package providertest

import (
	"encoding/json"
	"fmt"
	"net/http"

	"picoclaw"
)

// anthropicSSE writes events as Anthropic does: an event line, a data
// line whose "type" repeats the event name, a blank line; flushed one by
// one.
type anthropicSSE struct {
	w http.ResponseWriter
}

func (s *anthropicSSE) event(name string, fields obj) {
	b, err := json.Marshal(append(obj{{"type", name}}, fields...))
	if err != nil {
		panic(fmt.Sprintf("providertest: encode %s event: %v", name, err)) // a bug in this package
	}
	s.raw(name, string(b))
}

func (s *anthropicSSE) raw(name, data string) {
	_, _ = fmt.Fprintf(s.w, "event: %s\ndata: %s\n\n", name, data)
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *anthropicSSE) start(index int, block obj) {
	s.event("content_block_start", obj{{"index", index}, {"content_block", block}})
}

func (s *anthropicSSE) delta(index int, delta obj) {
	s.event("content_block_delta", obj{{"index", index}, {"delta", delta}})
}

func (s *anthropicSSE) stop(index int) { s.event("content_block_stop", obj{{"index", index}}) }

// anthropicMalformed is a content_block_delta cut off inside a string.
const anthropicMalformed = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"`

// writeAnthropicStream sends r as a Messages stream: message_start, a
// thinking block (thinking_delta pieces, then a signature_delta), a text
// block, tool_use blocks (input_json_delta starting with ""), a ping after
// the first block start, message_delta with stop_reason and usage, and
// message_stop.
func writeAnthropicStream(w http.ResponseWriter, rec RecordedRequest, r Reply, msgID string) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	s := &anthropicSSE{w: w}
	n := r.chunkSize()
	s.event("message_start", obj{{"message", obj{{"id", msgID}, {"type", "message"}, {"role", "assistant"},
		{"model", rec.Model}, {"content", []any{}}, {"stop_reason", nil}, {"stop_sequence", nil},
		{"usage", obj{{"input_tokens", promptTokens(rec)}, {"output_tokens", 1}}}}}})
	pinged := false
	ping := func() {
		if !pinged {
			s.event("ping", nil)
			pinged = true
		}
	}
	index, pieces := 0, 0

	if r.Reasoning != "" {
		s.start(index, obj{{"type", "thinking"}, {"thinking", ""}})
		ping()
		for _, p := range split(r.Reasoning, n) {
			s.delta(index, obj{{"type", "thinking_delta"}, {"thinking", p}})
			pieces++
		}
		s.delta(index, obj{{"type", "signature_delta"}, {"signature", AnthropicSignature(r.Reasoning)}})
		s.stop(index)
		index++
	}
	if r.Content != "" || r.CutStream || r.Malformed {
		s.start(index, obj{{"type", "text"}, {"text", ""}})
		ping()
		content := split(r.Content, n)
		for i, p := range content {
			if r.CutStream && i >= (len(content)+1)/2 {
				cut()
			}
			s.delta(index, obj{{"type", "text_delta"}, {"text", p}})
			pieces++
			if r.Malformed && i == 0 {
				s.raw("content_block_delta", anthropicMalformed)
			}
		}
		if r.CutStream {
			cut()
		}
		if r.Malformed && len(content) == 0 {
			s.raw("content_block_delta", anthropicMalformed)
		}
		s.stop(index)
		index++
	}
	pieces += writeToolUse(s, r.ToolCalls, index, n, r.InterleaveToolCalls)
	ping()

	stop := "end_turn"
	if len(r.ToolCalls) > 0 {
		stop = "tool_use"
	}
	s.event("message_delta", obj{{"delta", obj{{"stop_reason", stop}, {"stop_sequence", nil}}},
		{"usage", obj{{"output_tokens", pieces}}}})
	s.event("message_stop", nil)
}

// writeToolUse sends one tool_use block per call from block index first.
// Anthropic sends blocks one after the other; interleave starts them all
// and then alternates their fragments, which tests that input is keyed
// by index.
func writeToolUse(s *anthropicSSE, calls []picoclaw.ToolCall, first, n int, interleave bool) int {
	frags := make([][]string, len(calls))
	count := 0
	for i, tc := range calls {
		// The first fragment is always "", as in Anthropic's streams.
		frags[i] = append([]string{""}, split(string(tc.Arguments), n)...)
		count += len(frags[i]) - 1
	}
	begin := func(i int) {
		s.start(first+i, obj{{"type", "tool_use"}, {"id", calls[i].ID}, {"name", calls[i].Name}, {"input", obj{}}})
	}
	send := func(i int, f string) {
		s.delta(first+i, obj{{"type", "input_json_delta"}, {"partial_json", f}})
	}
	if !interleave {
		for i := range calls {
			begin(i)
			for _, f := range frags[i] {
				send(i, f)
			}
			s.stop(first + i)
		}
		return count
	}
	for i := range calls {
		begin(i)
	}
	for more := true; more; {
		more = false
		for i := range frags {
			if len(frags[i]) > 0 {
				send(i, frags[i][0])
				frags[i] = frags[i][1:]
				more = true
			}
		}
	}
	for i := range calls {
		s.stop(first + i)
	}
	return count
}

// writeAnthropicJSON sends r as a non-streamed message.
func writeAnthropicJSON(w http.ResponseWriter, rec RecordedRequest, r Reply, msgID string) {
	var content []any
	if r.Reasoning != "" {
		content = append(content, obj{{"type", "thinking"}, {"thinking", r.Reasoning}, {"signature", AnthropicSignature(r.Reasoning)}})
	}
	if r.Content != "" {
		content = append(content, obj{{"type", "text"}, {"text", r.Content}})
	}
	stop := "end_turn"
	for _, tc := range r.ToolCalls {
		stop = "tool_use"
		content = append(content, obj{{"type", "tool_use"}, {"id", tc.ID}, {"name", tc.Name}, {"input", tc.Arguments}})
	}
	if content == nil {
		content = []any{}
	}
	out := len(split(r.Content, r.chunkSize())) + len(split(r.Reasoning, r.chunkSize()))
	b, err := json.Marshal(obj{{"id", msgID}, {"type", "message"}, {"role", "assistant"}, {"model", rec.Model},
		{"content", content}, {"stop_reason", stop}, {"stop_sequence", nil},
		{"usage", obj{{"input_tokens", promptTokens(rec)}, {"output_tokens", out}}}})
	if err != nil {
		panic(fmt.Sprintf("providertest: encode message: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
