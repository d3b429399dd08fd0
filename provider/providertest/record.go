package providertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"picoclaw"
)

// RecordedRequest is a request as a fake server understood it, in a
// protocol-neutral shape: fakes for other wire formats fill the same
// fields.
type RecordedRequest struct {
	Path   string
	Header http.Header
	// APIKey is the credential sent (the Bearer token for OpenAI).
	APIKey    string
	Model     string
	Messages  []RecordedMessage
	Tools     []picoclaw.ToolDef
	MaxTokens int // max_tokens or max_completion_tokens
	// MaxCompletionTokens is set when the request used that field.
	MaxCompletionTokens int
	Temperature         *float64
	Stream              bool
	IncludeUsage        bool // stream_options.include_usage
	// Extra holds body keys outside the fields above.
	Extra map[string]json.RawMessage
	Body  []byte
}

// RecordedMessage is one message of a RecordedRequest.
type RecordedMessage struct {
	Role             string
	Content          string   // the text, text parts joined
	Images           []string // image URLs, e.g. data:image/png;base64,…
	ToolCalls        []picoclaw.ToolCall
	ToolCallID       string
	Name             string
	ReasoningContent string
	// ReasoningSignature is the signature of an Anthropic thinking block.
	ReasoningSignature string
}

// LastUser returns the text of the last user message, or "".
func (r RecordedRequest) LastUser() string {
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i].Content
		}
	}
	return ""
}

type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	Name       string          `json:"name"`
	ToolCallID string          `json:"tool_call_id"`
	Reasoning  string          `json:"reasoning_content"`
	ToolCalls  []struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type wirePart struct {
	Type     string `json:"type"`
	Text     string `json:"text"`
	ImageURL struct {
		URL string `json:"url"`
	} `json:"image_url"`
}

// openAIBody is the part of a Chat Completions request the fake reads.
type openAIBody struct {
	Model               string        `json:"model"`
	Messages            []wireMessage `json:"messages"`
	MaxTokens           int           `json:"max_tokens"`
	MaxCompletionTokens int           `json:"max_completion_tokens"`
	Temperature         *float64      `json:"temperature"`
	Stream              bool          `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Tools openAITools `json:"tools"`
}

// toolsCache keeps the last tools array decoded: a client sends the same
// definitions, most of a request's bytes, with every request.
type toolsCache struct {
	mu   sync.Mutex
	raw  []byte
	defs []picoclaw.ToolDef
}

// openAITools decodes a request's tools, through cache when it is set.
type openAITools struct {
	cache *toolsCache
	defs  []picoclaw.ToolDef
}

func (t *openAITools) UnmarshalJSON(b []byte) error {
	if c := t.cache; c != nil {
		c.mu.Lock()
		hit := c.raw != nil && bytes.Equal(b, c.raw)
		if hit {
			t.defs = cloneDefs(c.defs)
		}
		c.mu.Unlock()
		if hit {
			return nil
		}
	}
	var wire []struct {
		Type     string `json:"type"`
		Function struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		return err
	}
	t.defs = nil
	for _, w := range wire {
		t.defs = append(t.defs, picoclaw.ToolDef{
			Name: w.Function.Name, Description: w.Function.Description, Parameters: w.Function.Parameters,
		})
	}
	if c := t.cache; c != nil {
		c.mu.Lock()
		c.raw, c.defs = bytes.Clone(b), cloneDefs(t.defs)
		c.mu.Unlock()
	}
	return nil
}

// cloneDefs copies defs and their parameters, so no two requests share
// memory.
func cloneDefs(defs []picoclaw.ToolDef) []picoclaw.ToolDef {
	out := slices.Clone(defs)
	for i := range out {
		out[i].Parameters = bytes.Clone(out[i].Parameters)
	}
	return out
}

// decodeOpenAI parses a Chat Completions request body; tools (nil: none)
// caches the decoding of its tool definitions.
func decodeOpenAI(r *http.Request, body []byte, tools *toolsCache) (RecordedRequest, error) {
	rec := RecordedRequest{Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if k, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		rec.APIKey = strings.TrimSpace(k)
	}
	// A body with no key the fake does not know (the usual case) is
	// decoded in one pass; any other, or any error, takes the long way,
	// which also finds Extra and words the errors.
	known := openAIBody{Tools: openAITools{cache: tools}}
	if decodeKnownOnly(body, &known) != nil {
		known = openAIBody{Tools: openAITools{cache: tools}}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			return rec, fmt.Errorf("body is not a JSON object: %w", err)
		}
		if err := json.Unmarshal(body, &known); err != nil {
			return rec, fmt.Errorf("decode body: %w", err)
		}
		for _, k := range []string{"model", "messages", "max_tokens", "max_completion_tokens",
			"temperature", "stream", "stream_options", "tools"} { // openAIBody's
			delete(fields, k)
		}
		if len(fields) > 0 {
			rec.Extra = fields
		}
	}
	rec.Model = known.Model
	rec.MaxTokens = known.MaxTokens
	if known.MaxCompletionTokens > 0 {
		rec.MaxTokens = known.MaxCompletionTokens
		rec.MaxCompletionTokens = known.MaxCompletionTokens
	}
	rec.Temperature = known.Temperature
	rec.Stream = known.Stream
	rec.IncludeUsage = known.StreamOptions != nil && known.StreamOptions.IncludeUsage
	rec.Tools = known.Tools.defs
	for i, m := range known.Messages {
		rm, err := decodeMessage(m)
		if err != nil {
			return rec, fmt.Errorf("messages[%d]: %w", i, err)
		}
		rec.Messages = append(rec.Messages, rm)
	}
	return rec, nil
}

// decodeKnownOnly decodes body into v, failing on any key v has no field
// for (at any depth), on anything after the value, and on bad JSON.
func decodeKnownOnly(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return errors.New("data after the JSON value")
	}
	return nil
}

func decodeMessage(m wireMessage) (RecordedMessage, error) {
	rm := RecordedMessage{Role: m.Role, Name: m.Name, ToolCallID: m.ToolCallID, ReasoningContent: m.Reasoning}
	switch c := strings.TrimSpace(string(m.Content)); {
	case c == "" || c == "null":
	case strings.HasPrefix(c, `"`):
		if err := json.Unmarshal(m.Content, &rm.Content); err != nil {
			return rm, fmt.Errorf("content: %w", err)
		}
	default:
		var parts []wirePart
		if err := json.Unmarshal(m.Content, &parts); err != nil {
			return rm, fmt.Errorf("content is neither a string nor parts: %w", err)
		}
		var text []string
		for _, p := range parts {
			switch p.Type {
			case "text":
				text = append(text, p.Text)
			case "image_url":
				rm.Images = append(rm.Images, p.ImageURL.URL)
			default:
				return rm, fmt.Errorf("unknown content part type %q", p.Type)
			}
		}
		rm.Content = strings.Join(text, "\n")
	}
	for _, tc := range m.ToolCalls {
		rm.ToolCalls = append(rm.ToolCalls, picoclaw.ToolCall{
			ID: tc.ID, Name: tc.Function.Name, Arguments: json.RawMessage(tc.Function.Arguments),
		})
	}
	return rm, nil
}
