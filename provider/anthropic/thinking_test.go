package anthropic_test

import (
	"encoding/json"
	"testing"

	"picoclaw"
	"picoclaw/provider/anthropic"
	"picoclaw/provider/providertest"
)

func TestThinkingRequest(t *testing.T) {
	temp := 0.5
	tests := []struct {
		name          string
		maxTokens     int
		wantMaxTokens int
	}{
		{"max_tokens under the budget gets the budget added", 1000, 3048},
		{"max_tokens over the budget is kept", 4096, 4096},
		{"default max_tokens", 0, 8192},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := startFake(t, anthropic.Config{ThinkingBudget: 2048})
			const thought = "The user greets me; a greeting back is right."
			s.Enqueue(providertest.Reply{Reasoning: thought, Content: "Hello!"})
			req := userRequest("Hello")
			req.MaxTokens, req.Temperature = tt.maxTokens, &temp
			resp, err := p.Complete(t.Context(), req, nil)
			if err != nil {
				t.Fatalf("Complete: %v", err) // the fake refuses temperature with thinking
			}
			if resp.Reasoning != thought || resp.Content != "Hello!" {
				t.Errorf("reasoning, content = %q, %q", resp.Reasoning, resp.Content)
			}
			body := sentBody(t, s.Requests()[0])
			if body.Thinking == nil || body.Thinking.Type != "enabled" || body.Thinking.BudgetTokens != 2048 {
				t.Errorf("thinking = %+v, want enabled with 2048", body.Thinking)
			}
			if body.MaxTokens != tt.wantMaxTokens || body.Temperature != nil {
				t.Errorf("max_tokens, temperature = %d, %v; want %d, none", body.MaxTokens, body.Temperature, tt.wantMaxTokens)
			}
		})
	}
}

// A tool-use turn goes on with the thinking block signed, or else with
// thinking off, since the API rejects an unsigned one.
func TestThinkingToolLoop(t *testing.T) {
	call := picoclaw.ToolCall{ID: "toolu_w", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}
	const thought = "I should look up the weather."
	tests := []struct {
		name         string
		budget       int
		sign         bool
		laterTurn    bool // the tool exchange is followed by a new user message
		wantThinking bool
		wantSigned   bool
	}{
		{"signed reasoning is sent back", 2048, true, false, true, true},
		{"unsigned reasoning turns thinking off", 2048, false, false, false, false},
		{"a finished exchange needs no signature", 2048, false, true, true, false},
		{"without thinking no reasoning is sent", 0, true, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := startFake(t, anthropic.Config{ThinkingBudget: tt.budget})
			s.Enqueue(providertest.Reply{Reasoning: thought, ToolCalls: []picoclaw.ToolCall{call}})
			req := userRequest("Weather in Paris?")
			req.Tools = []picoclaw.ToolDef{{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}}}`)}}
			resp, err := p.Complete(t.Context(), req, nil)
			if err != nil {
				t.Fatalf("first Complete: %v", err)
			}
			asst := picoclaw.Message{Role: picoclaw.RoleAssistant, Content: resp.Content, Reasoning: resp.Reasoning, ToolCalls: resp.ToolCalls}
			if tt.budget > 0 && resp.ReasoningSignature != providertest.AnthropicSignature(resp.Reasoning) {
				t.Fatalf("Response.ReasoningSignature = %q, want the stream's signature", resp.ReasoningSignature)
			}
			if tt.sign {
				asst.ReasoningSignature = resp.ReasoningSignature
			}
			req.Messages = append(req.Messages, asst,
				picoclaw.Message{Role: picoclaw.RoleTool, ToolCallID: call.ID, Content: "18°C"})
			if tt.laterTurn {
				req.Messages = append(req.Messages, picoclaw.Message{Role: picoclaw.RoleAssistant, Content: "18°C in Paris."},
					picoclaw.Message{Role: picoclaw.RoleUser, Content: "Thanks!"})
			}
			if _, err := p.Complete(t.Context(), req, nil); err != nil {
				t.Fatalf("second Complete: %v", err) // the fake checks the thinking rules
			}
			second := s.Requests()[1]
			if got := sentBody(t, second).Thinking != nil; got != tt.wantThinking {
				t.Errorf("thinking on = %v, want %v", got, tt.wantThinking)
			}
			var sent picoclaw.Message
			for _, m := range second.Messages {
				if m.Role == "assistant" && len(m.ToolCalls) > 0 {
					sent = picoclaw.Message{Reasoning: m.ReasoningContent, ReasoningSignature: m.ReasoningSignature}
				}
			}
			if signed := sent.ReasoningSignature != ""; signed != tt.wantSigned || signed && sent.Reasoning != thought {
				t.Errorf("sent thinking %q signed %v, want signed %v", sent.Reasoning, signed, tt.wantSigned)
			}
		})
	}
}
