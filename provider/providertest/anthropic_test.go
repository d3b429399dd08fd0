package providertest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"picoclaw"
)

func newAnthropicFake(t *testing.T) *Anthropic { return started(t, NewAnthropic()) }

// postAnthropic sends body to the fake's messages endpoint; an empty key
// or version leaves that header out.
func postAnthropic(t *testing.T, s *Anthropic, key, version, body string) *http.Response {
	t.Helper()
	return postTo(t, s.URL()+"/messages", body, "X-Api-Key", key, "Anthropic-Version", version)
}

const anthropicStreamBody = `{"model":"claude-x","max_tokens":100,"messages":[{"role":"user","content":"hi"}],"stream":true}`

type anthropicEvent struct {
	name string
	data map[string]json.RawMessage
}

// anthropicEvents reads an SSE body, checking that every event is an
// event line, a data line whose type repeats the name, and a blank line.
func anthropicEvents(t *testing.T, r io.Reader) []anthropicEvent {
	t.Helper()
	var out []anthropicEvent
	for _, lines := range sseBlocks(t, r) {
		name, ok := strings.CutPrefix(lines[0], "event: ")
		if !ok || len(lines) != 2 {
			t.Fatalf("event %q is not an event line and a data line", lines)
		}
		data, ok := strings.CutPrefix(lines[1], "data: ")
		ev := anthropicEvent{name: name}
		if !ok || json.Unmarshal([]byte(data), &ev.data) != nil {
			t.Fatalf("event %s: bad data line %q", name, lines[1])
		}
		if string(ev.data["type"]) != `"`+name+`"` {
			t.Errorf("event %s has data type %s", name, ev.data["type"])
		}
		out = append(out, ev)
	}
	return out
}

// summary names each event, with a content block's type or delta.
func summary(evs []anthropicEvent) []string {
	var out []string
	for _, e := range evs {
		s := e.name
		var sub struct {
			Type        string `json:"type"`
			PartialJSON string `json:"partial_json"`
			Text        string `json:"text"`
			Thinking    string `json:"thinking"`
			StopReason  string `json:"stop_reason"`
		}
		for _, k := range []string{"content_block", "delta"} {
			if raw := e.data[k]; raw != nil {
				_ = json.Unmarshal(raw, &sub)
				s += ":" + sub.Type + sub.PartialJSON + sub.Text + sub.Thinking + sub.StopReason
			}
		}
		out = append(out, s)
	}
	return out
}

func TestAnthropicStreamFormat(t *testing.T) {
	s := newAnthropicFake(t)
	s.Enqueue(Reply{Reasoning: "hmm", Content: "Hi!", ChunkSize: 2, ToolCalls: []picoclaw.ToolCall{
		{ID: "toolu_1", Name: "f", Arguments: json.RawMessage(`{"a":"bc"}`)},
	}})
	resp := postAnthropic(t, s, "k", anthropicVersion, anthropicStreamBody)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") || resp.Header.Get("Request-Id") == "" {
		t.Errorf("Content-Type = %q, request-id %q", ct, resp.Header.Get("Request-Id"))
	}
	evs := anthropicEvents(t, resp.Body)
	want := []string{
		"message_start",
		"content_block_start:thinking", "ping",
		"content_block_delta:thinking_deltahm", "content_block_delta:thinking_deltam",
		"content_block_delta:signature_delta", "content_block_stop",
		"content_block_start:text", "content_block_delta:text_deltaHi", "content_block_delta:text_delta!", "content_block_stop",
		"content_block_start:tool_use",
		"content_block_delta:input_json_delta", // partial_json "" first
		`content_block_delta:input_json_delta{"`, `content_block_delta:input_json_deltaa"`,
		`content_block_delta:input_json_delta:"`, `content_block_delta:input_json_deltabc`, `content_block_delta:input_json_delta"}`,
		"content_block_stop",
		"message_delta:tool_use", "message_stop",
	}
	if got := summary(evs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var sig struct {
		Signature string `json:"signature"`
	}
	_ = json.Unmarshal(evs[5].data["delta"], &sig)
	if sig.Signature != AnthropicSignature("hmm") {
		t.Errorf("signature = %q, want AnthropicSignature of the thinking", sig.Signature)
	}
	if got := string(evs[11].data["content_block"]); got != `{"type":"tool_use","id":"toolu_1","name":"f","input":{}}` {
		t.Errorf("tool_use start = %s", got)
	}
	if got := string(evs[len(evs)-2].data["usage"]); !strings.HasPrefix(got, `{"output_tokens":`) {
		t.Errorf("message_delta usage = %s", got)
	}
}

func TestAnthropicInterleavedToolUse(t *testing.T) {
	s := newAnthropicFake(t)
	s.Enqueue(Reply{ChunkSize: 100, InterleaveToolCalls: true, ToolCalls: []picoclaw.ToolCall{
		{ID: "toolu_a", Name: "f", Arguments: json.RawMessage(`{}`)},
		{ID: "toolu_b", Name: "g", Arguments: json.RawMessage(`{"x":1}`)},
	}})
	var idx []string
	for _, e := range anthropicEvents(t, postAnthropic(t, s, "k", anthropicVersion, anthropicStreamBody).Body) {
		if e.name == "content_block_delta" {
			idx = append(idx, string(e.data["index"]))
		}
	}
	if got := strings.Join(idx, ","); got != "0,1,0,1" {
		t.Errorf("delta indexes = %s, want alternating 0,1,0,1", got)
	}
}

func TestAnthropicValidation(t *testing.T) {
	user := `{"role":"user","content":"hi"}`
	call := `{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]}`
	result := `{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"ok"}]}`
	body := func(extra, msgs string) string {
		return `{"model":"m","max_tokens":2000,` + extra + `"messages":[` + msgs + `]}`
	}
	tests := []struct {
		name, key, version, body string
		status                   int
		errType, msg             string
	}{
		{"no key", "", anthropicVersion, anthropicStreamBody, 401, "authentication_error", "x-api-key"},
		{"no version", "k", "", anthropicStreamBody, 400, "invalid_request_error", "anthropic-version"},
		{"not JSON", "k", anthropicVersion, `{"model":`, 400, "invalid_request_error", "request body"},
		{"no max_tokens", "k", anthropicVersion, `{"model":"m","messages":[` + user + `]}`, 400, "invalid_request_error", "max_tokens: Field required"},
		{"no model", "k", anthropicVersion, `{"max_tokens":5,"messages":[` + user + `]}`, 400, "invalid_request_error", "model: Field required"},
		{"no messages", "k", anthropicVersion, body("", ""), 400, "invalid_request_error", "at least 1 item"},
		{"system role in messages", "k", anthropicVersion, body("", `{"role":"system","content":"x"},`+user), 400, "invalid_request_error", "'user' or 'assistant'"},
		{"starts with assistant", "k", anthropicVersion, body("", `{"role":"assistant","content":"x"},`+user), 400, "invalid_request_error", "first message"},
		{"two user turns", "k", anthropicVersion, body("", user+","+user), 400, "invalid_request_error", "alternate"},
		{"empty text", "k", anthropicVersion, body("", `{"role":"user","content":[{"type":"text","text":" "}]}`), 400, "invalid_request_error", "non-whitespace"},
		{"unanswered tool_use", "k", anthropicVersion, body("", user+","+call+","+user), 400, "invalid_request_error", "without `tool_result`"},
		{"result without call", "k", anthropicVersion, body("", result), 400, "invalid_request_error", "unexpected `tool_use_id`"},
		{"text before result", "k", anthropicVersion, body("", user+","+call+`,{"role":"user","content":[{"type":"text","text":"x"},{"type":"tool_result","tool_use_id":"toolu_1"}]}`), 400, "invalid_request_error", "without `tool_result`"},
		{"tool input not an object", "k", anthropicVersion, body("", user+`,{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"f","input":"x"}]},`+result), 400, "invalid_request_error", "valid dictionary"},
		{"bad image type", "k", anthropicVersion, body("", `{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"AA=="}}]}`), 400, "invalid_request_error", "media_type"},
		{"forged signature", "k", anthropicVersion, body("", user+`,{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"forged"},{"type":"text","text":"x"}]},`+user), 400, "invalid_request_error", "signature"},
		{"thinking budget under 1024", "k", anthropicVersion, body(`"thinking":{"type":"enabled","budget_tokens":500},`, user), 400, "invalid_request_error", "budget_tokens"},
		{"budget not under max_tokens", "k", anthropicVersion, body(`"thinking":{"type":"enabled","budget_tokens":2000},`, user), 400, "invalid_request_error", "greater than `thinking.budget_tokens`"},
		{"temperature with thinking", "k", anthropicVersion, body(`"thinking":{"type":"enabled","budget_tokens":1024},"temperature":0.5,`, user), 400, "invalid_request_error", "temperature"},
		{"thinking tool turn without thinking", "k", anthropicVersion, body(`"thinking":{"type":"enabled","budget_tokens":1024},`, user+","+call+","+result), 400, "invalid_request_error", "must start with a thinking block"},
		{"tool without schema", "k", anthropicVersion, body(`"tools":[{"name":"f"}],`, user), 400, "invalid_request_error", "input_schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newAnthropicFake(t)
			s.Enqueue(Reply{Content: "scripted"})
			resp := postAnthropic(t, s, tt.key, tt.version, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			var e struct {
				Type  string `json:"type"`
				Error *struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
				RequestID string `json:"request_id"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Type != "error" || e.Error == nil ||
				e.Error.Type != tt.errType || !strings.Contains(e.Error.Message, tt.msg) || e.RequestID != resp.Header.Get("Request-Id") {
				t.Errorf("body = %+v (%v), want type %s, a message with %q and the request id", e, err, tt.errType, tt.msg)
			}
			if len(s.Requests()) != 1 {
				t.Errorf("refused request was not recorded")
			}
			wantScripted(t, postAnthropic(t, s, "k", anthropicVersion, `{"model":"m","max_tokens":5,"messages":[`+user+`]}`))
		})
	}
}

func TestAnthropicAcceptsValidThinkingTurn(t *testing.T) {
	s := newAnthropicFake(t)
	thinking := `{"type":"thinking","thinking":"t","signature":"` + AnthropicSignature("t") + `"}`
	body := `{"model":"m","max_tokens":2000,"thinking":{"type":"enabled","budget_tokens":1024},"temperature":1,"messages":[
	{"role":"user","content":"hi"},
	{"role":"assistant","content":[` + thinking + `,{"type":"tool_use","id":"toolu_1","name":"f","input":{}}]},
	{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"ok"}]}]}]}`
	if resp := postAnthropic(t, s, "k", anthropicVersion, body); resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Errorf("status %d: %s", resp.StatusCode, b)
	}
}

func TestAnthropicRecordedRequest(t *testing.T) {
	s := newAnthropicFake(t)
	body := `{"model":"m","max_tokens":9,"temperature":0,"top_k":3,"thinking":{"type":"enabled","budget_tokens":1024},
	"system":[{"type":"text","text":"sys a"},{"type":"text","text":"sys b"}],
	"tools":[{"name":"f","description":"d","input_schema":{"type":"object"}}],
	"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AA=="}},{"type":"image","source":{"type":"url","url":"https://x/y.png"}},{"type":"text","text":"look"}]},
	{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"sig"},{"type":"tool_use","id":"toolu_1","name":"f","input":{"x":1}}]},
	{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"done"},{"type":"text","text":"next"}]}]}`
	postAnthropic(t, s, "sk-ant-1", anthropicVersion, body) // refused (max_tokens, signature) but recorded
	got, err := s.WaitRequests(t.Context(), 1)
	if err != nil {
		t.Fatal(err)
	}
	r := got[0]
	if r.APIKey != "sk-ant-1" || r.Model != "m" || r.MaxTokens != 9 || r.Temperature == nil || *r.Temperature != 0 ||
		r.Stream || string(r.Extra["top_k"]) != "3" || string(r.Extra["thinking"]) != `{"type":"enabled","budget_tokens":1024}` {
		t.Errorf("request = %+v", r)
	}
	if len(r.Tools) != 1 || r.Tools[0].Name != "f" || string(r.Tools[0].Parameters) != `{"type":"object"}` {
		t.Errorf("tools = %+v", r.Tools)
	}
	m := r.Messages
	if len(m) != 5 {
		t.Fatalf("messages = %+v, want system, user, assistant, tool, user", m)
	}
	if m[0].Role != "system" || m[0].Content != "sys a\nsys b" {
		t.Errorf("system = %+v", m[0])
	}
	if m[1].Content != "look" || strings.Join(m[1].Images, " ") != "data:image/png;base64,AA== https://x/y.png" {
		t.Errorf("user = %+v", m[1])
	}
	if m[2].ReasoningContent != "t" || m[2].ReasoningSignature != "sig" || len(m[2].ToolCalls) != 1 ||
		m[2].ToolCalls[0].ID != "toolu_1" || string(m[2].ToolCalls[0].Arguments) != `{"x":1}` {
		t.Errorf("assistant = %+v", m[2])
	}
	if m[3].Role != "tool" || m[3].ToolCallID != "toolu_1" || m[3].Content != "done" || m[4].Role != "user" || m[4].Content != "next" {
		t.Errorf("tool result and text = %+v", m[3:])
	}
}

func TestAnthropicNonStreaming(t *testing.T) {
	s := newAnthropicFake(t)
	s.Enqueue(Reply{Content: "plain", Reasoning: "r"})
	resp := postAnthropic(t, s, "k", anthropicVersion, `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`)
	var got struct {
		Type    string `json:"type"`
		Content []struct {
			Type, Text, Thinking, Signature string
		} `json:"content"`
		StopReason string `json:"stop_reason"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "message" || len(got.Content) != 2 || got.Content[0].Thinking != "r" ||
		got.Content[0].Signature != AnthropicSignature("r") || got.Content[1].Text != "plain" || got.StopReason != "end_turn" {
		t.Errorf("message = %+v", got)
	}
}
