package toolcall

import (
	"encoding/json"
	"strings"
)

// Args makes streamed argument text valid JSON. An empty string means no
// arguments; text that is not JSON (a call cut off by max_tokens) is kept
// as a JSON string so the tool reports it to the model instead of the
// history becoming unserialisable.
func Args(s string) json.RawMessage {
	s = strings.TrimSpace(s)
	if s == "" {
		return json.RawMessage("{}")
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	return b
}
