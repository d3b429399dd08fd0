package mcp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// serveEnv tells a re-executed test binary to act as an MCP server on
// stdin/stdout ("stdio") or to exit at once ("exit").
const serveEnv = "MCPTEST_SERVE"

func TestMain(m *testing.M) {
	switch os.Getenv(serveEnv) {
	case "stdio":
		if err := newTestServer().Run(context.Background(), &sdk.StdioTransport{}); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	case "exit":
		os.Exit(3)
	}
	os.Exit(m.Run())
}

type echoIn struct {
	Text string `json:"text" jsonschema:"the text to echo"`
}

type getenvIn struct {
	Name string `json:"name"`
}

// newTestServer returns an MCP server with tools covering the result
// shapes Manager must handle.
func newTestServer() *sdk.Server {
	s := sdk.NewServer(&sdk.Implementation{Name: "test", Version: "1"}, nil)
	sdk.AddTool(s, &sdk.Tool{Name: "echo", Description: "Echo the text back."},
		func(_ context.Context, _ *sdk.CallToolRequest, in echoIn) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "echo: " + in.Text}}}, nil, nil
		})
	sdk.AddTool(s, &sdk.Tool{Name: "fail", Description: "Always fails."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return nil, nil, errors.New("disk full")
		})
	sdk.AddTool(s, &sdk.Tool{Name: "getenv", Description: "Read an environment variable of the server."},
		func(_ context.Context, _ *sdk.CallToolRequest, in getenvIn) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "[" + os.Getenv(in.Name) + "]"}}}, nil, nil
		})
	s.AddTool(&sdk.Tool{Name: "mixed.parts", InputSchema: map[string]any{"type": "object"}},
		func(context.Context, *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{
				&sdk.TextContent{Text: "a chart:"},
				&sdk.ImageContent{MIMEType: "image/png", Data: []byte("png!")},
				&sdk.ResourceLink{Name: "report", URI: "file:///r.pdf"},
			}}, nil
		})
	return s
}

// newHTTPServer serves newTestServer over streamable HTTP on 127.0.0.1,
// refusing requests without the header X-Api-Key: key.
func newHTTPServer(t *testing.T, key string) *httptest.Server {
	t.Helper()
	srv := newTestServer()
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != key {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts
}
