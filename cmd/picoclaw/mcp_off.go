//go:build nomcp

package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"picoclaw"
	"picoclaw/config"
)

// connectMCP fails: this binary was built with -tags nomcp, without the
// MCP SDK.
func connectMCP(context.Context, map[string]config.MCPServerConfig, *slog.Logger) (io.Closer, []picoclaw.Tool, error) {
	return nil, nil, errors.New("this picoclaw was built with -tags nomcp, without MCP support; " +
		"disable tools.mcp or use a build without the tag")
}
