package providertest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"picoclaw"
)

// post sends body to the fake's chat completions endpoint; an empty auth
// sends no Authorization.
func post(t *testing.T, s *OpenAI, auth, body string) *http.Response {
	t.Helper()
	return postTo(t, s.URL()+"/chat/completions", body, "Authorization", auth)
}

func newFake(t *testing.T) *OpenAI { return started(t, NewOpenAI()) }

const streamBody = `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`

// events reads an SSE body, checking that every event is one data line
// followed by a blank line.
func events(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	for _, ev := range sseBlocks(t, r) {
		data, ok := strings.CutPrefix(ev[0], "data: ")
		if !ok || len(ev) != 1 {
			t.Fatalf("event %q is not one data line", ev)
		}
		out = append(out, data)
	}
	return out
}

type wireChunk struct {
	Object  string `json:"object"`
	Choices []struct {
		Delta        map[string]json.RawMessage `json:"delta"`
		FinishReason *string                    `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		TotalTokens int `json:"total_tokens"`
	} `json:"usage"`
}

func decodeChunks(t *testing.T, evs []string) []wireChunk {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", evs)
	}
	var out []wireChunk
	for _, e := range evs[:len(evs)-1] {
		var c wireChunk
		if err := json.Unmarshal([]byte(e), &c); err != nil {
			t.Fatalf("chunk %s: %v", e, err)
		}
		out = append(out, c)
	}
	return out
}

func TestStreamFormat(t *testing.T) {
	s := newFake(t)
	s.Enqueue(Reply{Content: "Hello, world!", ChunkSize: 4})
	resp := post(t, s, "Bearer k", streamBody)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Errorf("Content-Type = %q", ct)
	}
	chunks := decodeChunks(t, events(t, resp.Body))
	first := chunks[0].Choices[0].Delta
	if string(first["role"]) != `"assistant"` || string(first["content"]) != `""` {
		t.Errorf("first delta = %v, want role assistant, content \"\"", first)
	}
	var text strings.Builder
	for _, c := range chunks[1 : len(chunks)-2] {
		var piece string
		if err := json.Unmarshal(c.Choices[0].Delta["content"], &piece); err != nil {
			t.Fatal(err)
		}
		text.WriteString(piece)
	}
	if text.String() != "Hello, world!" || len(chunks) != 1+4+2 {
		t.Errorf("content %q in %d chunks", text.String(), len(chunks))
	}
	finish := chunks[len(chunks)-2]
	if len(finish.Choices[0].Delta) != 0 || finish.Choices[0].FinishReason == nil || *finish.Choices[0].FinishReason != "stop" {
		t.Errorf("finish chunk = %+v, want empty delta and stop", finish)
	}
	last := chunks[len(chunks)-1]
	if last.Choices == nil || len(last.Choices) != 0 || last.Usage == nil || last.Usage.TotalTokens == 0 {
		t.Errorf("usage chunk = %+v, want choices [] and usage", last)
	}
}

func TestStreamWithoutUsage(t *testing.T) {
	s := newFake(t)
	resp := post(t, s, "Bearer k", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`)
	for _, c := range decodeChunks(t, events(t, resp.Body)) {
		if c.Usage != nil {
			t.Errorf("usage sent without stream_options.include_usage: %+v", c)
		}
	}
}

func TestStreamReasoningFormat(t *testing.T) {
	s := newFake(t)
	s.Enqueue(Reply{Reasoning: "think", Content: "ok", ChunkSize: 8})
	chunks := decodeChunks(t, events(t, post(t, s, "Bearer k", streamBody).Body))
	want := []string{
		`{"role":"assistant","content":null,"reasoning_content":""}`,
		`{"content":null,"reasoning_content":"think"}`,
		`{"content":"ok","reasoning_content":null}`,
	}
	for i, w := range want {
		got, _ := json.Marshal(chunks[i].Choices[0].Delta)
		if !jsonEqual(got, json.RawMessage(w)) {
			t.Errorf("delta %d = %s, want %s", i, got, w)
		}
	}
}

func TestStreamToolCallFormat(t *testing.T) {
	s := newFake(t)
	s.Enqueue(Reply{ChunkSize: 5, ToolCalls: []picoclaw.ToolCall{
		{ID: "call_1", Name: "f", Arguments: json.RawMessage(`{"a":1}`)},
		{ID: "call_2", Name: "g", Arguments: json.RawMessage(`{}`)},
	}})
	chunks := decodeChunks(t, events(t, post(t, s, "Bearer k", streamBody).Body))
	if got := string(chunks[0].Choices[0].Delta["content"]); got != "null" {
		t.Errorf("first delta content = %s, want null for a tool-call turn", got)
	}
	var frags []string
	for _, c := range chunks {
		if len(c.Choices) > 0 && c.Choices[0].Delta["tool_calls"] != nil {
			frags = append(frags, string(c.Choices[0].Delta["tool_calls"]))
		}
	}
	want := []string{
		`[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":""}}]`,
		`[{"index":0,"function":{"arguments":"{\"a\":"}}]`,
		`[{"index":0,"function":{"arguments":"1}"}}]`,
		`[{"index":1,"id":"call_2","type":"function","function":{"name":"g","arguments":""}}]`,
		`[{"index":1,"function":{"arguments":"{}"}}]`,
	}
	if strings.Join(frags, "\n") != strings.Join(want, "\n") {
		t.Errorf("tool call fragments:\n%s\nwant:\n%s", strings.Join(frags, "\n"), strings.Join(want, "\n"))
	}
	if fr := chunks[len(chunks)-2].Choices[0].FinishReason; fr == nil || *fr != "tool_calls" {
		t.Errorf("finish_reason = %v, want tool_calls", fr)
	}
}

func TestNonStreaming(t *testing.T) {
	s := newFake(t)
	s.Enqueue(Reply{Content: "plain", Reasoning: "r"})
	resp := post(t, s, "Bearer k", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	var got struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Role             string `json:"role"`
				Content          string `json:"content"`
				ReasoningContent string `json:"reasoning_content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Object != "chat.completion" || len(got.Choices) != 1 || got.Choices[0].Message.Content != "plain" ||
		got.Choices[0].Message.ReasoningContent != "r" || got.Choices[0].FinishReason != "stop" {
		t.Errorf("completion = %+v", got)
	}
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name, auth, body string
		status           int
	}{
		{"no key", "", streamBody, 401},
		{"empty bearer", "Bearer ", streamBody, 401},
		{"no model", "Bearer k", `{"messages":[{"role":"user","content":"hi"}],"stream":true}`, 400},
		{"no messages", "Bearer k", `{"model":"m","messages":[],"stream":true}`, 400},
		{"not JSON", "Bearer k", `{"model":`, 400},
		{"stream_options without stream", "Bearer k", `{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`, 400},
		{"unanswered tool call", "Bearer k", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"?"}]}`, 400},
		{"tool result without call", "Bearer k", `{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"c9","content":"x"}]}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFake(t)
			s.Enqueue(Reply{Content: "scripted"})
			resp := post(t, s, tt.auth, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			var e struct {
				Error *struct {
					Message string  `json:"message"`
					Type    string  `json:"type"`
					Param   *string `json:"param"`
					Code    *string `json:"code"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("body is not OpenAI's error shape: %+v, %v", e, err)
			}
			wantScripted(t, post(t, s, "Bearer k", `{"model":"m","messages":[{"role":"user","content":"hi"}]}`))
		})
	}
}

func TestRecordedRequest(t *testing.T) {
	s := newFake(t)
	body := `{"model":"m","max_completion_tokens":9,"temperature":0,"top_k":3,"stream":false,
	"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}}],
	"messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]},
	{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"x\":1}"}}]},
	{"role":"tool","tool_call_id":"c1","content":"done"}]}`
	post(t, s, "Bearer sk-1", body)
	got, err := s.WaitRequests(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	r := got[0]
	if r.APIKey != "sk-1" || r.Model != "m" || r.MaxTokens != 9 || r.MaxCompletionTokens != 9 ||
		r.Temperature == nil || *r.Temperature != 0 || r.Stream || string(r.Extra["top_k"]) != "3" {
		t.Errorf("request = %+v", r)
	}
	if len(r.Tools) != 1 || r.Tools[0].Name != "f" || string(r.Tools[0].Parameters) != `{"type":"object"}` {
		t.Errorf("tools = %+v", r.Tools)
	}
	m := r.Messages
	if len(m) != 3 || m[0].Content != "look" || len(m[0].Images) != 1 || m[0].Images[0] != "data:image/png;base64,AA==" ||
		len(m[1].ToolCalls) != 1 || string(m[1].ToolCalls[0].Arguments) != `{"x":1}` || m[2].ToolCallID != "c1" {
		t.Errorf("messages = %+v", m)
	}
}
