package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"picoclaw"
)

// maxNameLen is the longest tool name OpenAI-compatible APIs accept.
const maxNameLen = 64

// maxResult bounds the text one call hands the model.
const maxResult = 64 << 10

// emptySchema stands in for a missing input schema.
const emptySchema = `{"type":"object","properties":{}}`

// tool is one MCP server tool offered as a picoclaw.Tool.
type tool struct {
	name     string // what the model calls
	server   string
	remote   string // the tool's name on its server
	desc     string
	schema   json.RawMessage
	session  *sdk.ClientSession
	redacted string // the server URL, hidden from error text
}

func newTool(server string, t *sdk.Tool, session *sdk.ClientSession, serverURL string) *tool {
	schema := json.RawMessage(emptySchema)
	if t.InputSchema != nil {
		if b, err := json.Marshal(t.InputSchema); err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
			schema = b
		}
	}
	desc := strings.TrimSpace(t.Description)
	if desc == "" {
		desc = strings.TrimSpace(t.Title)
	}
	return &tool{
		name:     toolName(server, t.Name),
		server:   server,
		remote:   t.Name,
		desc:     fmt.Sprintf("[MCP server %s] %s", server, desc),
		schema:   schema,
		session:  session,
		redacted: serverURL,
	}
}

func (t *tool) Def() picoclaw.ToolDef {
	return picoclaw.ToolDef{Name: t.name, Description: t.desc, Parameters: t.schema}
}

// Call calls the tool on its server. A result the server marks as an
// error becomes an error holding its text.
func (t *tool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	params := &sdk.CallToolParams{Name: t.remote}
	if a := bytes.TrimSpace(args); len(a) > 0 && !bytes.Equal(a, []byte("null")) {
		if !json.Valid(a) {
			return "", fmt.Errorf("mcp: %s: arguments are not valid JSON", t.name)
		}
		params.Arguments = json.RawMessage(a)
	}
	res, err := t.session.CallTool(ctx, params)
	if err != nil {
		return "", fmt.Errorf("mcp: call %s on server %s: %w", t.remote, t.server, redact(err, t.redacted))
	}
	text := resultText(res)
	if res.IsError {
		if text == "" {
			text = "the tool reported an error without a message"
		}
		return "", errors.New(text)
	}
	return text, nil
}

// resultText renders a result's content for the model: text as is, other
// parts as a note saying what was left out.
func resultText(res *sdk.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		parts = append(parts, contentText(c))
	}
	if len(parts) == 0 && res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			parts = append(parts, string(b))
		}
	}
	s := strings.Join(parts, "\n")
	if len(s) > maxResult {
		s = strings.ToValidUTF8(s[:maxResult], "") + fmt.Sprintf("\n[… %d more bytes cut]", len(s)-maxResult)
	}
	return s
}

func contentText(c sdk.Content) string {
	switch c := c.(type) {
	case *sdk.TextContent:
		return c.Text
	case *sdk.ImageContent:
		return fmt.Sprintf("[image %s, %d bytes, not shown]", c.MIMEType, len(c.Data))
	case *sdk.AudioContent:
		return fmt.Sprintf("[audio %s, %d bytes, not shown]", c.MIMEType, len(c.Data))
	case *sdk.ResourceLink:
		return fmt.Sprintf("[resource %s: %s]", c.Name, c.URI)
	case *sdk.EmbeddedResource:
		if r := c.Resource; r != nil {
			if r.Text != "" {
				return r.Text
			}
			return fmt.Sprintf("[resource %s (%s), %d bytes, not shown]", r.URI, r.MIMEType, len(r.Blob))
		}
	}
	return fmt.Sprintf("[%T content, not shown]", c)
}

// toolName builds "mcp_<server>_<tool>" from characters OpenAI-compatible
// APIs accept, at most maxNameLen long. When cleaning or cutting changed
// anything, a hash of the original names is appended so that names
// differing only in dropped characters stay apart.
func toolName(server, name string) string {
	s, n := clean(server), clean(name)
	full := "mcp_" + s + "_" + n
	if s == server && n == name && len(full) <= maxNameLen {
		return full
	}
	h := fnv.New32a()
	h.Write([]byte(server + "\x00" + name))
	suffix := fmt.Sprintf("_%08x", h.Sum32())
	return full[:min(len(full), maxNameLen-len(suffix))] + suffix
}

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// uniqueName returns name, or name with a counter when taken already, and
// marks the result taken.
func uniqueName(name string, taken map[string]bool) string {
	out := name
	for i := 2; taken[out]; i++ {
		suffix := "_" + strconv.Itoa(i)
		out = name[:min(len(name), maxNameLen-len(suffix))] + suffix
	}
	taken[out] = true
	return out
}
