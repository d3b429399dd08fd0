package anthropic_test

import (
	"encoding/json"
	"strings"
	"testing"

	"picoclaw"
	"picoclaw/provider/anthropic"
	"picoclaw/provider/providertest"
)

// wireBody is the part of a sent request body these tests look at.
type wireBody struct {
	MaxTokens   int      `json:"max_tokens"`
	Temperature *float64 `json:"temperature"`
	Stream      bool     `json:"stream"`
	System      string   `json:"system"`
	Thinking    *struct {
		Type         string `json:"type"`
		BudgetTokens int    `json:"budget_tokens"`
	} `json:"thinking"`
	Messages []struct {
		Role    string `json:"role"`
		Content []struct {
			Type string `json:"type"`
		} `json:"content"`
	} `json:"messages"`
	Tools []struct {
		InputSchema json.RawMessage `json:"input_schema"`
	} `json:"tools"`
}

func sentBody(t *testing.T, r providertest.RecordedRequest) wireBody {
	t.Helper()
	var b wireBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("request body %s: %v", r.Body, err)
	}
	return b
}

// blockTypes lists each sent message as role:type,type.
func blockTypes(b wireBody) []string {
	var out []string
	for _, m := range b.Messages {
		var types []string
		for _, c := range m.Content {
			types = append(types, c.Type)
		}
		out = append(out, m.Role+":"+strings.Join(types, ","))
	}
	return out
}

func TestRequestMapping(t *testing.T) {
	zero := 0.0
	png := []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}
	jpeg := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F', 'I', 'F'}
	history := []picoclaw.Message{
		{Role: picoclaw.RoleSystem, Content: "You are picoclaw."},
		{Role: picoclaw.RoleSystem, Content: "Be brief."},
		{Role: picoclaw.RoleUser, Content: "What is this?", Images: []picoclaw.Attachment{
			{Kind: "image", MIMEType: "image/png", Data: png},
			{Kind: "file", Name: "notes.pdf", Data: []byte("%PDF")},    // not an image: dropped
			{Kind: "image", Data: jpeg},                                // type sniffed
			{Kind: "image", MIMEType: "image/bmp", Data: []byte("BM")}, // refused by the API: dropped
		}},
		{Role: picoclaw.RoleAssistant, Content: "Let me look.", Reasoning: "private thoughts",
			ToolCalls: []picoclaw.ToolCall{
				{ID: "toolu_1", Name: "zoom", Arguments: json.RawMessage(`{"x":1}`)},
				{ID: "toolu_2", Name: "crop", Arguments: json.RawMessage(`"{\"cut off"`)}, // not an object
			}},
		{Role: picoclaw.RoleTool, ToolCallID: "toolu_1", Name: "zoom", Content: "zoomed"},
		{Role: picoclaw.RoleTool, ToolCallID: "toolu_2", Name: "crop", Content: ""},
		{Role: picoclaw.RoleUser, Content: "and now?"},
	}
	tests := []struct {
		name          string
		cfgModel      string
		req           picoclaw.Request
		wantModel     string
		wantMaxTokens int
	}{
		{"config model, default max_tokens", "claude-sonnet-4-5", picoclaw.Request{Messages: history, Temperature: &zero}, "claude-sonnet-4-5", 8192},
		{"request model and max_tokens", "claude-sonnet-4-5", picoclaw.Request{Model: "claude-haiku-4-5", Messages: history, MaxTokens: 256, Temperature: &zero}, "claude-haiku-4-5", 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := startFake(t, anthropic.Config{Model: tt.cfgModel})
			tt.req.Tools = []picoclaw.ToolDef{{Name: "zoom", Description: "Zoom in."}}
			if _, err := p.Complete(t.Context(), tt.req, nil); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			got := s.Requests()[0]
			body := sentBody(t, got)
			if got.Model != tt.wantModel || body.MaxTokens != tt.wantMaxTokens {
				t.Errorf("model, max_tokens = %q, %d; want %q, %d", got.Model, body.MaxTokens, tt.wantModel, tt.wantMaxTokens)
			}
			if body.Temperature == nil || *body.Temperature != 0 || !body.Stream {
				t.Errorf("temperature, stream = %v, %v; want an explicit 0 and true", body.Temperature, body.Stream)
			}
			if got.Header.Get("Anthropic-Version") != "2023-06-01" || got.APIKey != "sk-ant-test-key-1" {
				t.Errorf("anthropic-version, x-api-key = %q, %q", got.Header.Get("Anthropic-Version"), got.APIKey)
			}
			if body.System != "You are picoclaw.\n\nBe brief." {
				t.Errorf("system = %q, want both system messages", body.System)
			}
			// Tool results and the next user text share one user message,
			// results first.
			wantBlocks := []string{"user:image,image,text", "assistant:text,tool_use,tool_use", "user:tool_result,tool_result,text"}
			if strings.Join(blockTypes(body), " ") != strings.Join(wantBlocks, " ") {
				t.Errorf("messages = %v, want %v", blockTypes(body), wantBlocks)
			}
			if len(body.Tools) != 1 || !strings.Contains(string(body.Tools[0].InputSchema), `"object"`) {
				t.Errorf("tools = %+v, want an object input_schema for a tool without parameters", body.Tools)
			}

			msgs := got.Messages
			if len(msgs) != 6 {
				t.Fatalf("recorded messages = %+v, want 6", msgs)
			}
			user := msgs[1]
			wantImages := []string{"data:image/png;base64,iVBORw0KGgo=", "data:image/jpeg;base64,/9j/4AAQSkZJRg=="}
			if user.Content != "What is this?" || strings.Join(user.Images, " ") != strings.Join(wantImages, " ") {
				t.Errorf("user message = %+v, want text and images %v", user, wantImages)
			}
			asst := msgs[2]
			if asst.Content != "Let me look." || asst.ReasoningContent != "" || len(asst.ToolCalls) != 2 ||
				string(asst.ToolCalls[0].Arguments) != `{"x":1}` || string(asst.ToolCalls[1].Arguments) != `{}` {
				t.Errorf("assistant message = %+v, want text, no thinking, calls with object input", asst)
			}
			if msgs[3].Role != "tool" || msgs[3].ToolCallID != "toolu_1" || msgs[3].Content != "zoomed" ||
				msgs[4].Role != "tool" || msgs[4].ToolCallID != "toolu_2" || msgs[5].Content != "and now?" {
				t.Errorf("tool results and follow-up = %+v", msgs[3:])
			}
		})
	}
}

func TestMessageShaping(t *testing.T) {
	u, a, tool := picoclaw.RoleUser, picoclaw.RoleAssistant, picoclaw.RoleTool
	call := []picoclaw.ToolCall{{ID: "toolu_9", Name: "ls", Arguments: json.RawMessage(`{}`)}}
	tests := []struct {
		name    string
		history []picoclaw.Message
		want    []string
	}{
		{"consecutive user messages merge", []picoclaw.Message{{Role: u, Content: "a"}, {Role: u, Content: "b"}},
			[]string{"user:text,text"}},
		{"empty assistant message is left out", []picoclaw.Message{{Role: u, Content: "a"}, {Role: a, Content: " "}, {Role: u, Content: "b"}},
			[]string{"user:text,text"}},
		{"history starting mid-exchange", []picoclaw.Message{{Role: a, ToolCalls: call}, {Role: tool, ToolCallID: "toolu_9", Content: "x"}, {Role: u, Content: "hi"}},
			[]string{"user:text"}},
		{"leading assistant answer", []picoclaw.Message{{Role: a, Content: "old answer"}, {Role: u, Content: "hi"}},
			[]string{"user:text"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := startFake(t, anthropic.Config{})
			if _, err := p.Complete(t.Context(), picoclaw.Request{Messages: tt.history}, nil); err != nil {
				t.Fatalf("Complete: %v", err) // the fake refuses what the API refuses
			}
			if got := blockTypes(sentBody(t, s.Requests()[0])); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("messages = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExtraBodyAndCustomHeaders(t *testing.T) {
	s, p := startFake(t, anthropic.Config{
		ExtraBody:     map[string]any{"top_k": 20, "metadata": map[string]any{"user_id": "u1"}, "max_tokens": 77},
		CustomHeaders: map[string]string{"anthropic-beta": "interleaved-thinking-2025-05-14"},
	})
	if _, err := p.Complete(t.Context(), userRequest("hi"), nil); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	got := s.Requests()[0]
	for k, want := range map[string]string{"top_k": "20", "metadata": `{"user_id":"u1"}`} {
		if string(got.Extra[k]) != want {
			t.Errorf("body key %s = %s, want %s", k, got.Extra[k], want)
		}
	}
	if got.MaxTokens != 77 {
		t.Errorf("max_tokens = %d, want ExtraBody's 77 to win", got.MaxTokens)
	}
	if got.Header.Get("Anthropic-Beta") != "interleaved-thinking-2025-05-14" {
		t.Errorf("headers = %v, want anthropic-beta", got.Header)
	}
	if got.LastUser() != "hi" {
		t.Errorf("messages = %+v, want the request's (body merge must keep them)", got.Messages)
	}
}

func TestBaseURL(t *testing.T) {
	s := providertest.NewAnthropic()
	t.Cleanup(s.Close)
	for _, base := range []string{s.URL(), s.URL() + "/", strings.TrimSuffix(s.URL(), "/v1")} {
		t.Run(base, func(t *testing.T) {
			p := newProvider(t, anthropic.Config{BaseURL: base, APIKeys: []string{"k"}})
			if _, err := p.Complete(t.Context(), userRequest("hi"), nil); err != nil {
				t.Errorf("Complete: %v", err)
			}
		})
	}
	for _, bad := range []string{"api.anthropic.com/v1", "ftp://example.com/v1", "http://[::1"} {
		if _, err := anthropic.New(anthropic.Config{BaseURL: bad}); err == nil {
			t.Errorf("New accepted base URL %q", bad)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for name, cfg := range map[string]anthropic.Config{
		"unencodable extra body": {ExtraBody: map[string]any{"bad": make(chan int)}},
		"thinking budget < 1024": {ThinkingBudget: 512},
		"negative budget":        {ThinkingBudget: -1},
	} {
		if _, err := anthropic.New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestNoModel(t *testing.T) {
	p, err := anthropic.New(anthropic.Config{BaseURL: "http://127.0.0.1:1/v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Complete(t.Context(), userRequest("hi"), nil); err == nil {
		t.Fatal("Complete without any model succeeded")
	}
}
