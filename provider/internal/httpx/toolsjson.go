package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"picoclaw"
)

// ToolsJSON caches the wire encoding of a tool list. The agent offers the
// same dozen tools, some 10 KB of schemas, with every request; encoding
// them anew each time was a large share of the gateway's CPU per answer.
// Here they are encoded once per change of the list and the bytes reused.
// It is safe for concurrent use.
type ToolsJSON struct {
	encode func([]picoclaw.ToolDef) ([]byte, error)

	mu   sync.Mutex
	defs []picoclaw.ToolDef // a deep copy of the list raw encodes
	raw  json.RawMessage
}

// NewToolsJSON returns a cache whose encode turns a (non-empty) tool list
// into the provider's JSON array.
func NewToolsJSON(encode func([]picoclaw.ToolDef) ([]byte, error)) *ToolsJSON {
	return &ToolsJSON{encode: encode}
}

// Get returns the JSON of defs, encoding it only if defs differ from the
// last list asked for. Comparing costs a memcmp of the schemas, far less
// than encoding them. The result must not be modified.
func (c *ToolsJSON) Get(defs []picoclaw.ToolDef) (json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.raw != nil && slices.EqualFunc(defs, c.defs, sameDef) {
		return c.raw, nil
	}
	raw, err := c.encode(defs)
	if err != nil {
		return nil, fmt.Errorf("encode tool definitions: %w", err)
	}
	// Copied: the caller may reuse its slices; the cache must not change
	// under it.
	c.defs = make([]picoclaw.ToolDef, len(defs))
	for i, d := range defs {
		d.Parameters = bytes.Clone(d.Parameters)
		c.defs[i] = d
	}
	c.raw = raw
	return raw, nil
}

func sameDef(a, b picoclaw.ToolDef) bool {
	return a.Name == b.Name && a.Description == b.Description && bytes.Equal(a.Parameters, b.Parameters)
}

// emptySchema stands for a tool without parameters: both APIs want an
// object schema.
var emptySchema = json.RawMessage(`{"type":"object","properties":{}}`)

// Schema returns params, or an empty object schema when there are none.
func Schema(params json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(params)) == 0 {
		return emptySchema
	}
	return params
}
