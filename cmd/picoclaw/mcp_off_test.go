//go:build nomcp

package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"picoclaw/config"
)

// TestConnectMCPWithoutSDK: a -tags nomcp build refuses MCP servers with
// a message that says why, rather than starting without their tools.
func TestConnectMCPWithoutSDK(t *testing.T) {
	_, _, err := connectMCP(context.Background(), map[string]config.MCPServerConfig{"fs": {Command: "mcp-fs"}}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "-tags nomcp") {
		t.Fatalf("connectMCP = %v, want an error naming -tags nomcp", err)
	}
}
