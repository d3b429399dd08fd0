package stream

// Frame types and topics of the Stream protocol.
const (
	TypeCallback = "CALLBACK"
	TypeSystem   = "SYSTEM"
	TypeEvent    = "EVENT"

	TopicBotMessage = "/v1.0/im/bot/messages/get"
	// TopicCardCallback carries AI card button presses (the stop button).
	TopicCardCallback = "/v1.0/card/instances/callback"
	TopicPing         = "ping"
	TopicDisconnect   = "disconnect"
)

// Frame is one downstream message on the stream socket. Every header value
// is a string; Data is a JSON document encoded as a string.
type Frame struct {
	SpecVersion string            `json:"specVersion,omitempty"`
	Type        string            `json:"type"`
	Headers     map[string]string `json:"headers"`
	Data        string            `json:"data"`
}

// Topic returns the frame's topic header.
func (f *Frame) Topic() string { return f.Headers["topic"] }

// MessageID returns the frame's messageId header (absent on disconnect).
func (f *Frame) MessageID() string { return f.Headers["messageId"] }

// ackFrame is the upstream answer to a frame, matched by messageId.
type ackFrame struct {
	Code    int               `json:"code"`
	Headers map[string]string `json:"headers"`
	Message string            `json:"message"`
	Data    string            `json:"data"`
}

// Ack codes.
const (
	AckOK       = 200
	AckNotFound = 404
	AckFailed   = 500
)

// FrameHandler receives every CALLBACK and EVENT frame. It must return
// quickly (accept = deduplicate and queue); the stream acks the frame with
// the returned code as soon as it returns, before any LLM work happens.
type FrameHandler func(f *Frame) (code int)
