package openai_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"picoclaw"
	"picoclaw/provider/openai"
)

func TestRequestMapping(t *testing.T) {
	zero := 0.0
	png := []byte{0x89, 'P', 'N', 'G'}
	history := []picoclaw.Message{
		{Role: picoclaw.RoleSystem, Content: "You are picoclaw."},
		{Role: picoclaw.RoleUser, Content: "What is this?", Images: []picoclaw.Attachment{
			{Kind: "image", MIMEType: "image/png", Data: png},
			{Kind: "file", Name: "notes.pdf", Data: []byte("%PDF")}, // not an image: dropped
		}},
		{Role: picoclaw.RoleAssistant, Content: "Let me look.", Reasoning: "private thoughts",
			ToolCalls: []picoclaw.ToolCall{{ID: "call_1", Name: "zoom", Arguments: json.RawMessage(`{"x":1}`)}}},
		{Role: picoclaw.RoleTool, ToolCallID: "call_1", Name: "zoom", Content: ""},
		{Role: picoclaw.RoleUser, Content: "and now?"},
	}
	tests := []struct {
		name          string
		cfgModel      string
		req           picoclaw.Request
		wantModel     string
		wantMaxTokens string // the body key carrying MaxTokens
	}{
		{"config model, max_tokens", "gpt-4o-mini", picoclaw.Request{Messages: history, MaxTokens: 256, Temperature: &zero}, "gpt-4o-mini", "max_tokens"},
		{"request model overrides", "gpt-4o-mini", picoclaw.Request{Model: "deepseek-chat", Messages: history, MaxTokens: 256, Temperature: &zero}, "deepseek-chat", "max_tokens"},
		{"reasoning model uses max_completion_tokens", "o3-mini", picoclaw.Request{Messages: history, MaxTokens: 256, Temperature: &zero}, "o3-mini", "max_completion_tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := startFake(t, openai.Config{Model: tt.cfgModel})
			if _, err := p.Complete(t.Context(), tt.req, nil); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			got := s.Requests()[0]
			if got.Model != tt.wantModel {
				t.Errorf("model = %q, want %q", got.Model, tt.wantModel)
			}
			var body map[string]json.RawMessage
			if err := json.Unmarshal(got.Body, &body); err != nil {
				t.Fatal(err)
			}
			if keys := topLevelKeys(t, got.Body); len(keys) != len(body) {
				t.Errorf("body keys %v: a key is sent twice (body %s)", keys, got.Body)
			}
			if string(body[tt.wantMaxTokens]) != "256" {
				t.Errorf("body %s = %s, want 256 (body %s)", tt.wantMaxTokens, body[tt.wantMaxTokens], got.Body)
			}
			if got.Temperature == nil || *got.Temperature != 0 {
				t.Errorf("temperature = %v, want an explicit 0", got.Temperature)
			}
			if !got.Stream || !got.IncludeUsage {
				t.Errorf("stream, include_usage = %v, %v; want both", got.Stream, got.IncludeUsage)
			}
			if len(got.Messages) != len(history) {
				t.Fatalf("got %d messages, want %d", len(got.Messages), len(history))
			}
			user := got.Messages[1]
			if user.Content != "What is this?" || len(user.Images) != 1 || user.Images[0] != "data:image/png;base64,iVBORw==" {
				t.Errorf("user message = %+v, want text and one PNG data URL", user)
			}
			asst := got.Messages[2]
			if asst.Content != "Let me look." || asst.ReasoningContent != "" || len(asst.ToolCalls) != 1 || asst.ToolCalls[0].ID != "call_1" {
				t.Errorf("assistant message = %+v, want content and call_1 without reasoning", asst)
			}
			if tool := got.Messages[3]; tool.Role != "tool" || tool.ToolCallID != "call_1" || tool.Content == "" {
				t.Errorf("tool message = %+v, want call_1 with non-empty content", tool)
			}
		})
	}
}

func TestNewRejectsUnencodableExtraBody(t *testing.T) {
	_, err := openai.New(openai.Config{ExtraBody: map[string]any{"bad": make(chan int)}})
	if err == nil {
		t.Fatal("New accepted an ExtraBody value that cannot be JSON")
	}
}

func TestNoModel(t *testing.T) {
	p, err := openai.New(openai.Config{BaseURL: "http://127.0.0.1:1/v1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Complete(t.Context(), userRequest("hi"), nil); err == nil {
		t.Fatal("Complete without any model succeeded")
	}
}

// topLevelKeys lists the keys of a JSON object as sent, repeats included.
func topLevelKeys(t *testing.T, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}
