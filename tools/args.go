package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"picoclaw"
)

// normalizeArgs returns raw as a JSON object document. Empty arguments mean
// "{}", and an object encoded twice (a JSON string holding an object, which
// some models send) is unwrapped.
func normalizeArgs(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return json.RawMessage("{}"), nil
	}
	if !json.Valid(raw) {
		return nil, errors.New("arguments are not valid JSON")
	}
	if raw[0] == '"' {
		var inner string
		if err := json.Unmarshal(raw, &inner); err == nil {
			in := bytes.TrimSpace([]byte(inner))
			if len(in) > 0 && in[0] == '{' && json.Valid(in) {
				return in, nil
			}
		}
	}
	if raw[0] != '{' {
		return nil, errors.New("arguments must be a JSON object")
	}
	return raw, nil
}

// decodeArgs unmarshals a tool's arguments into v. Unknown fields are
// ignored: models often add harmless extras.
func decodeArgs(tool string, raw json.RawMessage, v any, example string) error {
	obj, err := normalizeArgs(raw)
	if err == nil {
		err = json.Unmarshal(obj, v)
	}
	if err != nil {
		return fmt.Errorf("%s: invalid arguments: %w; expected a JSON object like %s", tool, err, example)
	}
	return nil
}

// funcTool adapts a definition and a function to picoclaw.Tool.
type funcTool struct {
	def  picoclaw.ToolDef
	call func(ctx context.Context, args json.RawMessage) (string, error)
}

func (t *funcTool) Def() picoclaw.ToolDef { return t.def }

func (t *funcTool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	return t.call(ctx, args)
}

// def builds a ToolDef; schema is a JSON schema object literal.
func def(name, description, schema string) picoclaw.ToolDef {
	return picoclaw.ToolDef{Name: name, Description: description, Parameters: json.RawMessage(schema)}
}
