package picoclaw

import (
	"context"
	"encoding/json"
	"time"
)

// Role of an LLM message.
type Role string

// Roles used in conversation histories.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// ToolCall is a model's request to run a tool.
type ToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// Message is one entry of a conversation history, as stored in a session
// and sent to a provider.
type Message struct {
	Role       Role       `json:"role"`
	Content    string     `json:"content,omitempty"`
	Reasoning  string     `json:"reasoning,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Name       string     `json:"name,omitempty"`
	// Images are attachments given to the model with a user message; they
	// are not persisted.
	Images []Attachment `json:"-"`
	Time   time.Time    `json:"time,omitzero"`

	// ReasoningSignature is the provider's signature over Reasoning
	// (Anthropic's thinking block). Anthropic needs it to accept the
	// reasoning back within a tool-use loop; empty when none was given.
	ReasoningSignature string `json:"reasoning_signature,omitempty"`
}

// ToolDef describes a tool offered to the model.
type ToolDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"` // a JSON schema object
}

// Request is one completion request.
type Request struct {
	Model       string
	Messages    []Message
	Tools       []ToolDef
	MaxTokens   int
	Temperature *float64
}

// Usage counts tokens of one completion.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
}

// Response is a finished completion.
type Response struct {
	Content   string
	Reasoning string
	// ReasoningSignature authenticates Reasoning for providers that need
	// it sent back with tool results (Anthropic extended thinking).
	ReasoningSignature string
	ToolCalls          []ToolCall
	FinishReason       string
	Usage              Usage
}

// Delta is a piece of a streamed completion.
type Delta struct {
	Content   string
	Reasoning string
}

// StreamSink receives one turn's answer while the model writes it, for a
// channel that can show it live (a DingTalk AI card). Its methods are
// called from the turn's goroutine and must return at once.
type StreamSink interface {
	// Delta is the next piece of the model's current reply.
	Delta(d Delta)
	// Round says the current reply is not the answer after all: the model
	// called tools (status names them) or is being asked again (status
	// ""). The text streamed since the last Round is to be dropped.
	Round(status string)
}

// Provider talks to one LLM API.
//
// Complete streams the answer, calling onDelta (which may be nil) for every
// piece as it arrives, and returns the whole response. Errors are wrapped
// so that errors.Is reports their kind: ErrTemporary, ErrAuth,
// ErrContextLength, ErrBadResponse; a *RateLimitError for 429.
type Provider interface {
	Complete(ctx context.Context, req Request, onDelta func(Delta)) (*Response, error)
}

// Tool is something the model can call.
type Tool interface {
	// Def describes the tool. It must not change once the tool is
	// registered: the registry reads it once and offers that to the model
	// every turn.
	Def() ToolDef
	// Call runs the tool. A returned error is shown to the model, not fatal.
	Call(ctx context.Context, args json.RawMessage) (string, error)
}

// SessionStore keeps conversation histories.
type SessionStore interface {
	// Load returns the history of key, oldest first; empty if none.
	Load(ctx context.Context, key SessionKey) ([]Message, error)
	// Append adds messages to key's history durably.
	Append(ctx context.Context, key SessionKey, msgs ...Message) error
	// Reset starts key's history afresh.
	Reset(ctx context.Context, key SessionKey) error
}

// Channel connects the assistant to a chat service.
type Channel interface {
	// Name is the channel's name in session keys, e.g. "dingtalk".
	Name() string
	// Run receives messages until ctx ends, handing each accepted one to
	// handle. handle must return quickly (it only queues).
	Run(ctx context.Context, handle func(Inbound)) error
	// Send delivers out, splitting it as the service requires.
	Send(ctx context.Context, out Outbound) error
}
