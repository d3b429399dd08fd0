package providertest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

const thinkingDocs = "Please consult our documentation at https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking"

// AnthropicSignature is the signature the fake gives a thinking block
// with this text, and the only one it accepts back.
func AnthropicSignature(thinking string) string {
	sum := sha256.Sum256([]byte("providertest thinking\x00" + thinking))
	return base64.StdEncoding.EncodeToString(sum[:])
}

var anthropicImageTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// validateAnthropic checks what the real API checks and returns its
// message for the first problem, or "". It is stricter than today's API
// in one way: that API merges consecutive turns of one role, the fake
// wants them to alternate, as the API once did, so that a provider's
// merging is tested.
func validateAnthropic(req anthropicRequest) string {
	switch {
	case req.Model == "":
		return "model: Field required"
	case req.MaxTokens == nil:
		return "max_tokens: Field required"
	case *req.MaxTokens < 1:
		return "max_tokens: Input should be greater than or equal to 1"
	case len(req.Messages) == 0:
		return "messages: List should have at least 1 item after validation, not 0"
	}
	for i, b := range req.System {
		if b.Type != "text" {
			return fmt.Sprintf("system.%d.type: Input should be 'text'", i)
		}
	}
	thinking := req.Thinking != nil && req.Thinking.Type == "enabled"
	if thinking {
		switch {
		case req.Thinking.BudgetTokens < 1024:
			return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
		case *req.MaxTokens <= req.Thinking.BudgetTokens:
			return "`max_tokens` must be greater than `thinking.budget_tokens`. " + thinkingDocs
		case req.Temperature != nil && *req.Temperature != 1:
			return "`temperature` may only be set to 1 when thinking is enabled. " + thinkingDocs
		}
	}
	for i, t := range req.Tools {
		var schema struct {
			Type string `json:"type"`
		}
		switch {
		case t.Name == "":
			return fmt.Sprintf("tools.%d.custom.name: Field required", i)
		case len(t.InputSchema) == 0:
			return fmt.Sprintf("tools.%d.custom.input_schema: Field required", i)
		case json.Unmarshal(t.InputSchema, &schema) != nil || schema.Type != "object":
			return fmt.Sprintf("tools.%d.custom.input_schema.type: Input should be 'object'", i)
		}
	}
	if msg := validateTurns(req.Messages); msg != "" {
		return msg
	}
	for i, m := range req.Messages {
		for j, b := range m.Content {
			if msg := validateBlock(m.Role, b); msg != "" {
				return fmt.Sprintf("messages.%d.content.%d: %s", i, j, msg)
			}
		}
	}
	if thinking {
		return validateThinkingTurn(req.Messages)
	}
	return ""
}

// validateTurns checks roles, alternation and tool_use / tool_result
// pairing.
func validateTurns(msgs []anthropicMessage) string {
	var pending []string // tool_use ids of the previous assistant message
	for i, m := range msgs {
		switch {
		case m.Role != "user" && m.Role != "assistant":
			return fmt.Sprintf("messages.%d.role: Input should be 'user' or 'assistant'", i)
		case i == 0 && m.Role != "user":
			return `messages: first message must use the "user" role`
		case i > 0 && m.Role == msgs[i-1].Role:
			return fmt.Sprintf(`messages: roles must alternate between "user" and "assistant", but found multiple %q roles in a row`, m.Role)
		case len(m.Content) == 0 && i != len(msgs)-1:
			return fmt.Sprintf("messages.%d: all messages must have non-empty content except for the optional final assistant message", i)
		}
		if m.Role == "user" {
			// The results must answer every call, and come first.
			seenOther := false
			for j, b := range m.Content {
				if b.Type != "tool_result" {
					seenOther = true
					continue
				}
				k := slices.Index(pending, b.ToolUseID)
				if k < 0 {
					return fmt.Sprintf("messages.%d.content.%d: unexpected `tool_use_id` found in `tool_result` blocks: %s. Each `tool_result` block must have a corresponding `tool_use` block in the previous message.", i, j, b.ToolUseID)
				}
				if seenOther {
					break // reported below as unanswered
				}
				pending = slices.Delete(pending, k, k+1)
			}
		}
		if len(pending) > 0 {
			return unansweredToolUse(i-1, pending)
		}
		if m.Role == "assistant" {
			for _, b := range m.Content {
				if b.Type == "tool_use" {
					pending = append(pending, b.ID)
				}
			}
		}
	}
	if len(pending) > 0 {
		return unansweredToolUse(len(msgs)-1, pending)
	}
	return ""
}

func unansweredToolUse(i int, ids []string) string {
	return fmt.Sprintf("messages.%d: `tool_use` ids were found without `tool_result` blocks immediately after: %s. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", i, strings.Join(ids, ", "))
}

// validateBlock checks one content block of a role's message.
func validateBlock(role string, b anthropicBlock) string {
	allowed := map[string][]string{
		"user":      {"text", "image", "document", "tool_result"},
		"assistant": {"text", "tool_use", "thinking", "redacted_thinking"},
	}[role]
	if !slices.Contains(allowed, b.Type) {
		return fmt.Sprintf("Input tag '%s' found using 'type' does not match any of the expected tags: %s", b.Type, strings.Join(allowed, ", "))
	}
	switch b.Type {
	case "text":
		if b.Text == nil || strings.TrimSpace(*b.Text) == "" {
			return "text content blocks must contain non-whitespace text"
		}
	case "image":
		switch {
		case b.Source == nil:
			return "image.source: Field required"
		case b.Source.Type == "base64" && !slices.Contains(anthropicImageTypes, b.Source.MediaType):
			return "image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
		case b.Source.Type == "base64":
			if _, err := base64.StdEncoding.DecodeString(b.Source.Data); err != nil || b.Source.Data == "" {
				return "image.source.base64.data: invalid base64 data"
			}
		case b.Source.Type != "url":
			return "image.source.type: Input should be 'base64' or 'url'"
		}
	case "tool_use":
		var obj map[string]json.RawMessage
		if b.ID == "" || b.Name == "" {
			return "tool_use: id and name are required"
		}
		if json.Unmarshal(b.Input, &obj) != nil || obj == nil {
			return "tool_use.input: Input should be a valid dictionary"
		}
	case "tool_result":
		res, err := blocks(b.Content)
		if err != nil {
			return "tool_result.content: " + err.Error()
		}
		for _, r := range res {
			if r.Type == "text" && (r.Text == nil || *r.Text == "") {
				return "tool_result.content: text content blocks must be non-empty"
			}
		}
	case "thinking":
		if b.Signature == "" || b.Signature != AnthropicSignature(deref(b.Thinking)) {
			return "Invalid `signature` in `thinking` block"
		}
	}
	return ""
}

// validateThinkingTurn: with thinking on, the assistant message that
// made the calls answered by the final tool results must start with its
// thinking.
func validateThinkingTurn(msgs []anthropicMessage) string {
	last := len(msgs) - 1
	if last < 1 || msgs[last].Role != "user" || len(msgs[last].Content) == 0 || msgs[last].Content[0].Type != "tool_result" {
		return "" // a plain user message starts a fresh turn
	}
	asst := msgs[last-1] // alternation and pairing are checked already
	if first := asst.Content[0].Type; first != "thinking" && first != "redacted_thinking" {
		return fmt.Sprintf("messages.%d.content.0.type: Expected `thinking` or `redacted_thinking`, but found `%s`. When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable `thinking`. %s", last-1, first, thinkingDocs)
	}
	return ""
}
