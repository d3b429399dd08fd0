package providertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"picoclaw"
)

// obj is a JSON object that keeps its key order, so that the fake's
// chunks read like the recorded ones ({"content":null,…} vs missing keys).
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) { return o.appendJSON(nil) }

// appendJSON appends o to b. Nested objects and lists are written here
// rather than through json.Marshal, which would re-scan (compact) each
// MarshalJSON result; the bytes are the same.
func (o obj) appendJSON(b []byte) ([]byte, error) {
	b = append(b, '{')
	for i, f := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, _ := json.Marshal(f.k)
		b = append(append(b, k...), ':')
		var err error
		if b, err = appendValue(b, f.v); err != nil {
			return nil, fmt.Errorf("field %s: %w", f.k, err)
		}
	}
	return append(b, '}'), nil
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case obj:
		return v.appendJSON(b)
	case []any:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case nil:
		return append(b, "null"...), nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

// sseWriter writes Chat Completions chunks as OpenAI does: data lines only,
// a blank line after each, flushed one by one.
type sseWriter struct {
	w       http.ResponseWriter
	id      string
	model   string
	created int64
	err     error // the first write error: the client is gone
}

func (s *sseWriter) data(v any) {
	b, err := appendValue(nil, v)
	if err != nil {
		panic(fmt.Sprintf("providertest: encode chunk: %v", err)) // a bug in this package
	}
	s.line(b)
}

func (s *sseWriter) line(payload []byte) {
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", payload); err != nil && s.err == nil {
		s.err = err
	}
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *sseWriter) head() obj {
	return obj{{"id", s.id}, {"object", "chat.completion.chunk"}, {"created", s.created},
		{"model", s.model}, {"system_fingerprint", "fp_providertest"}}
}

// delta sends one choice-0 chunk; finish is "" for none (null).
func (s *sseWriter) delta(delta obj, finish string) {
	var fr any
	if finish != "" {
		fr = finish
	}
	if delta == nil {
		delta = obj{}
	}
	choice := obj{{"index", 0}, {"delta", delta}, {"logprobs", nil}, {"finish_reason", fr}}
	s.data(append(s.head(), kv{"choices", []any{choice}}))
}

func (s *sseWriter) usage(u obj) {
	s.data(append(s.head(), kv{"choices", []any{}}, kv{"usage", u}))
}

func usage(prompt, completion int) obj {
	return obj{{"prompt_tokens", prompt}, {"completion_tokens", completion},
		{"total_tokens", prompt + completion}}
}

// malformedLine is a chunk cut off in the middle of a string.
const malformedLine = `{"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"`

// writeStream sends r as a chat.completion.chunk stream.
func writeStream(w http.ResponseWriter, rec RecordedRequest, r Reply, id string, created int64, gone <-chan struct{}) {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	s := &sseWriter{w: w, id: id, model: rec.Model, created: created}
	n := r.chunkSize()
	pieces := 0

	switch {
	case r.Reasoning != "":
		s.delta(obj{{"role", "assistant"}, {"content", nil}, {"reasoning_content", ""}}, "")
	case r.Content == "" && len(r.ToolCalls) > 0:
		s.delta(obj{{"role", "assistant"}, {"content", nil}}, "")
	default:
		s.delta(obj{{"role", "assistant"}, {"content", ""}}, "")
	}
	for _, p := range split(r.Reasoning, n) {
		s.delta(obj{{"content", nil}, {"reasoning_content", p}}, "")
		pieces++
	}
	content := split(r.Content, n)
	for range max(r.Repeat, 1) - 1 {
		for _, p := range content {
			s.delta(obj{{"content", p}}, "")
			pieces++
		}
		if s.err != nil {
			return // the client hung up on a runaway answer
		}
	}
	for i, p := range content {
		if r.CutStream && i >= (len(content)+1)/2 {
			cut()
		}
		if r.Pace != nil && i > 0 {
			select {
			case <-r.Pace:
			case <-gone:
				return
			}
		}
		d := obj{{"content", p}}
		if r.Reasoning != "" {
			d = append(d, kv{"reasoning_content", nil})
		}
		s.delta(d, "")
		pieces++
		if r.Malformed && i == 0 {
			s.line([]byte(malformedLine))
		}
	}
	if r.CutStream {
		cut()
	}
	if r.Malformed && len(content) == 0 {
		s.line([]byte(malformedLine))
	}
	pieces += writeToolCalls(s, r.ToolCalls, n, r.InterleaveToolCalls)

	finish := "stop"
	if len(r.ToolCalls) > 0 {
		finish = "tool_calls"
	}
	s.delta(obj{}, finish)
	if rec.IncludeUsage {
		s.usage(usage(promptTokens(rec), pieces))
	}
	s.line([]byte("[DONE]"))
}

// writeToolCalls sends the calls as OpenAI does: id, type and name only in
// the first fragment of each index, with arguments "" there.
func writeToolCalls(s *sseWriter, calls []picoclaw.ToolCall, n int, interleave bool) int {
	frags := make([][]string, len(calls))
	for i, tc := range calls {
		s.delta(obj{{"tool_calls", []any{obj{{"index", i}, {"id", tc.ID}, {"type", "function"},
			{"function", obj{{"name", tc.Name}, {"arguments", ""}}}}}}}, "")
		frags[i] = split(string(tc.Arguments), n)
		if !interleave {
			sendArgs(s, i, frags[i])
		}
	}
	count := 0
	for i := range frags {
		count += len(frags[i])
	}
	if !interleave {
		return count
	}
	for more := true; more; {
		more = false
		for i := range frags {
			if len(frags[i]) == 0 {
				continue
			}
			sendArgs(s, i, frags[i][:1])
			frags[i] = frags[i][1:]
			more = true
		}
	}
	return count
}

func sendArgs(s *sseWriter, index int, frags []string) {
	for _, f := range frags {
		s.delta(obj{{"tool_calls", []any{obj{{"index", index}, {"function", obj{{"arguments", f}}}}}}}, "")
	}
}

// cut drops the connection without ending the chunked body.
func cut() { panic(http.ErrAbortHandler) }

// promptTokens is a stand-in count: a token per four bytes of text.
func promptTokens(rec RecordedRequest) int {
	n := 0
	for _, m := range rec.Messages {
		n += utf8.RuneCountInString(m.Content)
	}
	return n/4 + 1
}

// writeJSON sends r as a non-streamed chat.completion.
func writeJSON(w http.ResponseWriter, rec RecordedRequest, r Reply, id string, created int64) {
	var content any
	if r.Content != "" || len(r.ToolCalls) == 0 {
		content = r.Content
	}
	msg := obj{{"role", "assistant"}, {"content", content}}
	if r.Reasoning != "" {
		msg = append(msg, kv{"reasoning_content", r.Reasoning})
	}
	finish := "stop"
	if len(r.ToolCalls) > 0 {
		finish = "tool_calls"
		var calls []any
		for _, tc := range r.ToolCalls {
			calls = append(calls, obj{{"id", tc.ID}, {"type", "function"},
				{"function", obj{{"name", tc.Name}, {"arguments", string(tc.Arguments)}}}})
		}
		msg = append(msg, kv{"tool_calls", calls})
	}
	completion := len(split(r.Content, r.chunkSize())) + len(split(r.Reasoning, r.chunkSize()))
	body := obj{{"id", id}, {"object", "chat.completion"}, {"created", created}, {"model", rec.Model},
		{"choices", []any{obj{{"index", 0}, {"message", msg}, {"logprobs", nil}, {"finish_reason", finish}}}},
		{"usage", usage(promptTokens(rec), completion)}, {"system_fingerprint", "fp_providertest"}}
	b, err := json.Marshal(body)
	if err != nil {
		panic(fmt.Sprintf("providertest: encode completion: %v", err))
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
