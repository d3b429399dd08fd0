// Package mcp offers the tools of Model Context Protocol servers to the
// model. Manager connects to each configured server (a command over
// stdin/stdout, or a streamable-HTTP endpoint) with the official MCP Go
// SDK, lists its tools once, and wraps each as a picoclaw.Tool named
// "mcp_<server>_<tool>".
//
// Nothing here runs unless servers are configured: the caller only calls
// Connect when tools.mcp.enabled lists active servers.
package mcp
