package anthropic

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	goanthropic "github.com/liushuangls/go-anthropic/v2"

	"picoclaw"
	"picoclaw/provider/internal/httpx"
)

// imageTypes are the media types the API accepts in image blocks.
var imageTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true}

// buildRequest maps a picoclaw.Request onto go-anthropic's request, but
// for the tools, which the transport adds (see encodeTools).
//
// Thinking (budget > 0) is left off for a request whose current tool-use
// turn has an assistant tool call without a signed thinking block: the API
// rejects such a turn when thinking is on, and without the block thinking
// is all that can give. max_tokens covers thinking too, so when it would
// not exceed the budget the budget is added to it. A temperature is not
// sent with thinking, which allows none but 1.
func buildRequest(model string, req picoclaw.Request, budget int) goanthropic.MessagesRequest {
	out := goanthropic.MessagesRequest{Model: goanthropic.Model(model), MaxTokens: req.MaxTokens}
	if out.MaxTokens <= 0 {
		out.MaxTokens = defaultMaxTokens
	}
	thinking := budget > 0 && signedTurn(req.Messages)
	if thinking {
		out.Thinking = &goanthropic.Thinking{Type: goanthropic.ThinkingTypeEnabled, BudgetTokens: budget}
		if out.MaxTokens <= budget {
			out.MaxTokens += budget
		}
	} else if req.Temperature != nil {
		t := float32(*req.Temperature)
		out.Temperature = &t
	}

	var system []string
	for _, m := range req.Messages {
		if m.Role == picoclaw.RoleSystem {
			if strings.TrimSpace(m.Content) != "" {
				system = append(system, m.Content)
			}
			continue
		}
		role, blocks := buildBlocks(m, thinking)
		if len(blocks) == 0 {
			continue // the API rejects empty messages
		}
		if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
			// Turns must alternate: tool results and a following user
			// text share one user message.
			out.Messages[n-1].Content = append(out.Messages[n-1].Content, blocks...)
			continue
		}
		out.Messages = append(out.Messages, goanthropic.Message{Role: role, Content: blocks})
	}
	for i := range out.Messages {
		resultsFirst(out.Messages[i].Content)
	}
	out.Messages = dropLeadingOrphans(out.Messages)
	out.System = strings.Join(system, "\n\n")

	return out
}

// signedTurn reports whether every assistant tool call since the last
// user message comes with signed reasoning, so that thinking may be on.
func signedTurn(msgs []picoclaw.Message) bool {
	last := -1
	for i, m := range msgs {
		if m.Role == picoclaw.RoleUser {
			last = i
		}
	}
	for _, m := range msgs[last+1:] {
		if m.Role == picoclaw.RoleAssistant && len(m.ToolCalls) > 0 &&
			(m.Reasoning == "" || m.ReasoningSignature == "") {
			return false
		}
	}
	return true
}

// buildBlocks maps one non-system message to its role and content blocks.
func buildBlocks(m picoclaw.Message, thinking bool) (goanthropic.ChatRole, []goanthropic.MessageContent) {
	var blocks []goanthropic.MessageContent
	switch m.Role {
	case picoclaw.RoleAssistant:
		// A signature is only valid for the model that made it and only
		// wanted with thinking on; unsigned reasoning is never accepted.
		if thinking && m.Reasoning != "" && m.ReasoningSignature != "" {
			blocks = append(blocks, goanthropic.MessageContent{
				Type: goanthropic.MessagesContentTypeThinking,
				MessageContentThinking: &goanthropic.MessageContentThinking{
					Thinking: m.Reasoning, Signature: m.ReasoningSignature,
				},
			})
		}
		if strings.TrimSpace(m.Content) != "" {
			blocks = append(blocks, goanthropic.NewTextMessageContent(m.Content))
		}
		for _, tc := range m.ToolCalls {
			blocks = append(blocks, goanthropic.NewToolUseMessageContent(tc.ID, tc.Name, toolInput(tc.Arguments)))
		}
		return goanthropic.RoleAssistant, blocks
	case picoclaw.RoleTool:
		res := &goanthropic.MessageContentToolResult{ToolUseID: &m.ToolCallID}
		if m.Content != "" {
			text := m.Content
			res.Content = []goanthropic.MessageContent{{Type: goanthropic.MessagesContentTypeText, Text: &text}}
		}
		return goanthropic.RoleUser, []goanthropic.MessageContent{{
			Type: goanthropic.MessagesContentTypeToolResult, MessageContentToolResult: res,
		}}
	default:
		// Images go first, as Anthropic advises.
		blocks = imageBlocks(m.Images)
		if strings.TrimSpace(m.Content) != "" {
			blocks = append(blocks, goanthropic.NewTextMessageContent(m.Content))
		}
		return goanthropic.RoleUser, blocks
	}
}

// toolInput returns args if it is a JSON object, else {}: the API wants an
// object, and a call cut off mid-arguments is kept as a JSON string.
func toolInput(args json.RawMessage) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal(args, &obj) != nil || obj == nil {
		return json.RawMessage(`{}`)
	}
	return args
}

// imageBlocks turns in-memory images into base64 image blocks. Those
// without Data, not images, or of a type the API refuses are skipped.
func imageBlocks(atts []picoclaw.Attachment) []goanthropic.MessageContent {
	var blocks []goanthropic.MessageContent
	for _, a := range atts {
		if len(a.Data) == 0 || (a.Kind != "" && a.Kind != "image") {
			continue
		}
		mime := a.MIMEType
		if mime == "" {
			mime = http.DetectContentType(a.Data)
		}
		if !imageTypes[mime] {
			continue
		}
		blocks = append(blocks, goanthropic.NewImageMessageContent(goanthropic.NewMessageContentSource(
			goanthropic.MessagesContentSourceTypeBase64, mime, base64.StdEncoding.EncodeToString(a.Data))))
	}
	return blocks
}

// resultsFirst moves tool_result blocks to the front, where the API wants
// them, keeping the order within each group.
func resultsFirst(blocks []goanthropic.MessageContent) {
	slices.SortStableFunc(blocks, func(a, b goanthropic.MessageContent) int {
		return rank(a) - rank(b)
	})
}

func rank(b goanthropic.MessageContent) int {
	if b.Type == goanthropic.MessagesContentTypeToolResult {
		return 0
	}
	return 1
}

// dropLeadingOrphans makes the conversation start with a user message, as
// the API requires, when a trimmed history starts mid-exchange: leading
// assistant messages go, and so do tool results whose call went with them.
func dropLeadingOrphans(msgs []goanthropic.Message) []goanthropic.Message {
	for len(msgs) > 0 {
		first := msgs[0]
		if first.Role == goanthropic.RoleUser {
			var kept []goanthropic.MessageContent
			for _, b := range first.Content {
				if b.Type != goanthropic.MessagesContentTypeToolResult {
					kept = append(kept, b)
				}
			}
			if len(kept) > 0 {
				msgs[0].Content = kept
				return msgs
			}
		}
		msgs = msgs[1:]
	}
	return msgs
}

// encodeTools is the wire form of the tool list, encoded once per change
// (httpx.ToolsJSON) and added to the body by the transport, rather than by
// go-anthropic per request.
func encodeTools(defs []picoclaw.ToolDef) ([]byte, error) {
	type tool struct {
		Name        string          `json:"name"`
		Description string          `json:"description,omitempty"`
		InputSchema json.RawMessage `json:"input_schema"`
	}
	out := make([]tool, len(defs))
	for i, d := range defs {
		out[i] = tool{Name: d.Name, Description: d.Description, InputSchema: httpx.Schema(d.Parameters)}
	}
	return json.Marshal(out)
}
