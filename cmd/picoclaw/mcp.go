//go:build !nomcp

package main

import (
	"context"
	"io"
	"log/slog"

	"picoclaw"
	"picoclaw/config"
	"picoclaw/mcp"
)

// connectMCP connects the configured MCP servers and returns their tools.
// The MCP SDK is the heaviest dependency (its packages, JSON schema and
// encoding/gob among them, run their init functions at every start);
// building with -tags nomcp leaves it out of the binary.
func connectMCP(ctx context.Context, servers map[string]config.MCPServerConfig, log *slog.Logger) (io.Closer, []picoclaw.Tool, error) {
	conv := make(map[string]mcp.ServerConfig, len(servers))
	for name, s := range servers {
		conv[name] = mcp.ServerConfig{Type: s.Transport(), Command: s.Command, Args: s.Args, Env: s.Env, URL: s.URL, Headers: s.Headers}
	}
	m, err := mcp.Connect(ctx, conv, log)
	if err != nil {
		return nil, nil, err
	}
	return m, m.Tools(), nil
}
