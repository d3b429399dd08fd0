package providertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"picoclaw"
)

// anthropicRequest is a Messages API request body as sent.
type anthropicRequest struct {
	Model       string             `json:"model"`
	MaxTokens   *int               `json:"max_tokens"`
	System      []anthropicBlock   `json:"-"` // string or text blocks
	Messages    []anthropicMessage `json:"messages"`
	Tools       []anthropicTool    `json:"tools"`
	Temperature *float64           `json:"temperature"`
	Stream      bool               `json:"stream"`
	Thinking    *struct {
		Type         string `json:"type"`
		BudgetTokens int    `json:"budget_tokens"`
	} `json:"thinking"`
}

type anthropicMessage struct {
	Role    string           `json:"role"`
	Content []anthropicBlock `json:"-"` // a string is one text block
}

type anthropicTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// anthropicBlock is any content block; Type says which fields apply.
type anthropicBlock struct {
	Type   string  `json:"type"`
	Text   *string `json:"text"`
	Source *struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
		URL       string `json:"url"`
	} `json:"source"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"` // tool_result: string or blocks
	Thinking  *string         `json:"thinking"`
	Signature string          `json:"signature"`
	Data      string          `json:"data"` // redacted_thinking
}

// blocks decodes a content field: a string (one text block) or blocks.
func blocks(raw json.RawMessage) ([]anthropicBlock, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return []anthropicBlock{{Type: "text", Text: &s}}, nil
	}
	var out []anthropicBlock
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("Input should be a valid string or list of content blocks: %w", err)
	}
	return out, nil
}

// decodeAnthropic parses a request; the error text is the 400 message.
func decodeAnthropic(r *http.Request, body []byte) (RecordedRequest, anthropicRequest, error) {
	rec := RecordedRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body,
		APIKey: strings.TrimSpace(r.Header.Get("X-Api-Key"))}
	var req anthropicRequest
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return rec, req, fmt.Errorf("There was an issue with your request body: %w", err)
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return rec, req, fmt.Errorf("There was an issue with your request body: %w", err)
	}
	var err error
	if req.System, err = blocks(fields["system"]); err != nil {
		return rec, req, fmt.Errorf("system: %w", err)
	}
	var msgs []struct {
		Content json.RawMessage `json:"content"`
	}
	_ = json.Unmarshal(fields["messages"], &msgs) // the same array decoded above
	for i := range req.Messages {
		if req.Messages[i].Content, err = blocks(msgs[i].Content); err != nil {
			return rec, req, fmt.Errorf("messages.%d.content: %w", i, err)
		}
	}

	rec.Model = req.Model
	if req.MaxTokens != nil {
		rec.MaxTokens = *req.MaxTokens
	}
	rec.Temperature = req.Temperature
	rec.Stream = req.Stream
	for _, t := range req.Tools {
		rec.Tools = append(rec.Tools, picoclaw.ToolDef{Name: t.Name, Description: t.Description, Parameters: t.InputSchema})
	}
	if len(req.System) > 0 {
		rec.Messages = append(rec.Messages, RecordedMessage{Role: "system", Content: joinText(req.System)})
	}
	for _, m := range req.Messages {
		rec.Messages = append(rec.Messages, recordMessage(m)...)
	}
	for _, k := range []string{"model", "max_tokens", "system", "messages", "tools", "temperature", "stream"} {
		delete(fields, k)
	}
	if len(fields) > 0 {
		rec.Extra = fields
	}
	return rec, req, nil
}

// recordMessage normalises one message: an assistant's thinking becomes
// ReasoningContent, tool_use blocks ToolCalls; each tool_result of a user
// message becomes a "tool" message, before the user's own text, if any.
func recordMessage(m anthropicMessage) []RecordedMessage {
	own := RecordedMessage{Role: m.Role}
	var out []RecordedMessage
	var text []string
	for _, b := range m.Content {
		switch b.Type {
		case "text":
			text = append(text, deref(b.Text))
		case "image":
			if b.Source == nil {
				continue
			}
			if b.Source.Type == "url" {
				own.Images = append(own.Images, b.Source.URL)
			} else {
				own.Images = append(own.Images, "data:"+b.Source.MediaType+";base64,"+b.Source.Data)
			}
		case "tool_use":
			own.ToolCalls = append(own.ToolCalls, picoclaw.ToolCall{ID: b.ID, Name: b.Name, Arguments: b.Input})
		case "thinking":
			own.ReasoningContent += deref(b.Thinking)
			own.ReasoningSignature = b.Signature
		case "tool_result":
			res, _ := blocks(b.Content) // checked by validateAnthropic
			out = append(out, RecordedMessage{Role: "tool", ToolCallID: b.ToolUseID, Content: joinText(res)})
		}
	}
	own.Content = strings.Join(text, "\n")
	if len(out) == 0 || own.Content != "" || len(own.Images) > 0 || len(own.ToolCalls) > 0 {
		out = append(out, own)
	}
	return out
}

func joinText(bs []anthropicBlock) string {
	var text []string
	for _, b := range bs {
		if b.Type == "text" {
			text = append(text, deref(b.Text))
		}
	}
	return strings.Join(text, "\n")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
