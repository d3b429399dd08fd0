package openai

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	goopenai "github.com/sashabaranov/go-openai"

	"picoclaw"
	"picoclaw/provider/internal/httpx"
)

// emptyToolResult stands in for a tool's empty output: go-openai omits an
// empty content field, and the API rejects a tool message without one.
const emptyToolResult = "(no output)"

// buildRequest maps a picoclaw.Request onto go-openai's request, but for
// the tools and the temperature, which the transport adds (Provider.fields).
func buildRequest(model string, req picoclaw.Request) goopenai.ChatCompletionRequest {
	out := goopenai.ChatCompletionRequest{
		Model:         model,
		Messages:      make([]goopenai.ChatCompletionMessage, 0, len(req.Messages)),
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
	for _, m := range req.Messages {
		out.Messages = append(out.Messages, buildMessage(m))
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

func buildMessage(m picoclaw.Message) goopenai.ChatCompletionMessage {
	out := goopenai.ChatCompletionMessage{Role: string(m.Role), Name: m.Name}
	switch m.Role {
	case picoclaw.RoleUser:
		images := imageParts(m.Images)
		if len(images) == 0 {
			out.Content = m.Content
			break
		}
		if m.Content != "" {
			out.MultiContent = append(out.MultiContent, goopenai.ChatMessagePart{
				Type: goopenai.ChatMessagePartTypeText, Text: m.Content,
			})
		}
		out.MultiContent = append(out.MultiContent, images...)
	case picoclaw.RoleAssistant:
		// Reasoning is not sent back: DeepSeek rejects reasoning_content in
		// input messages and other servers ignore it.
		out.Content = m.Content
		for _, tc := range m.ToolCalls {
			args := string(tc.Arguments)
			if args == "" {
				args = "{}"
			}
			out.ToolCalls = append(out.ToolCalls, goopenai.ToolCall{
				ID:       tc.ID,
				Type:     goopenai.ToolTypeFunction,
				Function: goopenai.FunctionCall{Name: tc.Name, Arguments: args},
			})
		}
	case picoclaw.RoleTool:
		out.ToolCallID = m.ToolCallID
		out.Content = m.Content
		if out.Content == "" {
			out.Content = emptyToolResult
		}
	default:
		out.Content = m.Content
	}
	return out
}

// imageParts turns in-memory image attachments into data-URL parts.
// Attachments without Data (not loaded, or not images) are skipped.
func imageParts(atts []picoclaw.Attachment) []goopenai.ChatMessagePart {
	var parts []goopenai.ChatMessagePart
	for _, a := range atts {
		if len(a.Data) == 0 || (a.Kind != "" && a.Kind != "image") {
			continue
		}
		mime := a.MIMEType
		if mime == "" {
			mime = "image/png"
		}
		parts = append(parts, goopenai.ChatMessagePart{
			Type: goopenai.ChatMessagePartTypeImageURL,
			ImageURL: &goopenai.ChatMessageImageURL{
				URL: "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(a.Data),
			},
		})
	}
	return parts
}
