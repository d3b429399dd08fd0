package mcp

import (
	"strings"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestToolName(t *testing.T) {
	long := strings.Repeat("x", 70)
	tests := []struct {
		server, tool string
		want         string // "" to check only the shape
	}{
		{"github", "create_issue", "mcp_github_create_issue"},
		{"brave-search", "web-search", "mcp_brave-search_web-search"},
		{"fs", "read.file", ""},
		{"文件", "list dir", ""},
		{"s", long, ""},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.server+"/"+tt.tool, func(t *testing.T) {
			got := toolName(tt.server, tt.tool)
			if tt.want != "" && got != tt.want {
				t.Errorf("toolName = %q, want %q", got, tt.want)
			}
			if len(got) > maxNameLen || clean(got) != got || !strings.HasPrefix(got, "mcp_") {
				t.Errorf("toolName = %q: not a valid tool name", got)
			}
			if seen[got] {
				t.Errorf("toolName = %q collides", got)
			}
			seen[got] = true
		})
	}
	if toolName("fs", "read.file") == toolName("fs", "read_file") {
		t.Error("names differing only in a cleaned character collide")
	}
}

func TestUniqueName(t *testing.T) {
	taken := map[string]bool{}
	long := "mcp_" + strings.Repeat("y", 60)
	got := []string{uniqueName("a", taken), uniqueName("a", taken), uniqueName("a", taken), uniqueName(long, taken), uniqueName(long, taken)}
	want := []string{"a", "a_2", "a_3", long, long[:62] + "_2"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("uniqueName #%d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestResultText(t *testing.T) {
	big := strings.Repeat("é", maxResult) // 2 bytes each
	tests := []struct {
		name string
		res  *sdk.CallToolResult
		want string
	}{
		{"text parts joined", &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "a"}, &sdk.TextContent{Text: "b"}}}, "a\nb"},
		{"audio noted", &sdk.CallToolResult{Content: []sdk.Content{&sdk.AudioContent{MIMEType: "audio/ogg", Data: []byte("123")}}}, "[audio audio/ogg, 3 bytes, not shown]"},
		{"embedded text resource", &sdk.CallToolResult{Content: []sdk.Content{&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: "x", Text: "inside"}}}}, "inside"},
		{"embedded blob noted", &sdk.CallToolResult{Content: []sdk.Content{&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: "file:///a.bin", MIMEType: "application/zip", Blob: []byte("zz")}}}}, "[resource file:///a.bin (application/zip), 2 bytes, not shown]"},
		{"structured only", &sdk.CallToolResult{StructuredContent: map[string]any{"n": 1}}, `{"n":1}`},
		{"empty", &sdk.CallToolResult{}, ""},
		{"cut", &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: big}}}, big[:maxResult] + "\n[… 65536 more bytes cut]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := resultText(tt.res); got != tt.want {
				t.Errorf("resultText = %.200q, want %.200q", got, tt.want)
			}
		})
	}
}
