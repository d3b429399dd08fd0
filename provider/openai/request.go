package openai

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"picoclaw"
	"picoclaw/provider/internal/httpx"
)

// emptyToolResult stands in for a tool's empty output: an empty content
// field is omitted, and the API rejects a tool message without one.
const emptyToolResult = "(no output)"

// buildRequest maps a picoclaw.Request onto go-openai's request, but for
// the messages, the tools and the temperature: the transport adds those
// (see Provider.fields).
func buildRequest(model string, req picoclaw.Request) goopenai.ChatCompletionRequest {
	out := goopenai.ChatCompletionRequest{
		Model:         model,
		Stream:        true,
		StreamOptions: &goopenai.StreamOptions{IncludeUsage: true},
	}
	if req.MaxTokens > 0 {
		if reasoningModel(model) {
			// go-openai refuses max_tokens for these, as does the API.
			out.MaxCompletionTokens = req.MaxTokens
		} else {
			out.MaxTokens = req.MaxTokens
		}
	}
	return out
}

// encodeTools is the wire form of the tool list, encoded once per change
// (httpx.ToolsJSON) and added to the body by the transport: go-openai's
// Tool.MarshalJSON builds a map per tool and compacts every schema twice,
// per request.
func encodeTools(defs []picoclaw.ToolDef) ([]byte, error) {
	type function struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		Parameters  json.RawMessage `json:"parameters"`
	}
	type tool struct {
		Type     string   `json:"type"`
		Function function `json:"function"`
	}
	out := make([]tool, len(defs))
	for i, d := range defs {
		out[i] = tool{Type: "function", Function: function{Name: d.Name, Description: d.Description, Parameters: httpx.Schema(d.Parameters)}}
	}
	return json.Marshal(out)
}

// reasoningModel reports whether model wants max_completion_tokens.
func reasoningModel(model string) bool {
	for _, p := range []string{"o1", "o3", "o4", "gpt-5"} {
		if strings.HasPrefix(model, p) {
			return true
		}
	}
	return false
}

// message is a chat message on the wire. go-openai's own type encodes
// every message twice (its MarshalJSON marshals a copy, which the outer
// encoder then checks and compacts again), a large share of a request's
// CPU with a long system prompt; this one is encoded once, by the
// transport's body field.
type message struct {
	Role       string     `json:"role"`
	Content    any        `json:"content,omitempty"` // a string or []part; nil when empty
	Name       string     `json:"name,omitempty"`
	ToolCalls  []toolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
}

type part struct {
	Type     string    `json:"type"`
	Text     string    `json:"text,omitempty"`
	ImageURL *imageURL `json:"image_url,omitempty"`
}

type imageURL struct {
	URL string `json:"url"`
}

type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments,omitempty"`
}

// encodeMessages is the JSON of the messages array.
func encodeMessages(msgs []picoclaw.Message) ([]byte, error) {
	out := make([]message, len(msgs))
	for i, m := range msgs {
		out[i] = buildMessage(m)
	}
	return json.Marshal(out)
}

func buildMessage(m picoclaw.Message) message {
	out := message{Role: string(m.Role), Name: m.Name}
	text := m.Content
	switch m.Role {
	case picoclaw.RoleUser:
		if images := imageParts(m.Images); len(images) > 0 {
			var parts []part
			if text != "" {
				parts = append(parts, part{Type: "text", Text: text})
			}
			out.Content = append(parts, images...)
			return out
		}
	case picoclaw.RoleAssistant:
		// Reasoning is not sent back: DeepSeek rejects reasoning_content in
		// input messages and other servers ignore it.
		for _, tc := range m.ToolCalls {
			args := string(tc.Arguments)
			if args == "" {
				args = "{}"
			}
			out.ToolCalls = append(out.ToolCalls, toolCall{
				ID: tc.ID, Type: "function", Function: functionCall{Name: tc.Name, Arguments: args},
			})
		}
	case picoclaw.RoleTool:
		out.ToolCallID = m.ToolCallID
		if text == "" {
			text = emptyToolResult
		}
	}
	if text != "" {
		out.Content = text
	}
	return out
}

// imageParts turns in-memory image attachments into data-URL parts.
// Attachments without Data (not loaded, or not images) are skipped.
func imageParts(atts []picoclaw.Attachment) []part {
	var parts []part
	for _, a := range atts {
		if len(a.Data) == 0 || (a.Kind != "" && a.Kind != "image") {
			continue
		}
		mime := a.MIMEType
		if mime == "" {
			mime = "image/png"
		}
		parts = append(parts, part{
			Type:     "image_url",
			ImageURL: &imageURL{URL: "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(a.Data)},
		})
	}
	return parts
}
