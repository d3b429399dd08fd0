//go:build unix

package openai_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/provider/openai"
)

// benchTools is a dozen tools with ~10 KB of schemas, the size of the
// gateway's built-in set.
func benchTools() []picoclaw.ToolDef {
	var defs []picoclaw.ToolDef
	for i := range 12 {
		props := map[string]any{}
		for j := range 5 {
			props[fmt.Sprintf("param_%d", j)] = map[string]any{
				"type": "string", "description": strings.Repeat("What this parameter means. ", 4),
			}
		}
		schema, _ := json.Marshal(map[string]any{"type": "object", "properties": props, "required": []string{"param_0"}})
		defs = append(defs, picoclaw.ToolDef{
			Name: fmt.Sprintf("tool_%02d", i), Description: strings.Repeat("What the tool does and when to use it. ", 5),
			Parameters: schema,
		})
	}
	return defs
}

// cannedSSE answers every request with a short streamed completion, in
// memory, so that the benchmark measures the provider's own CPU: encoding
// the request and decoding the stream.
type cannedSSE struct{}

const sseAnswer = `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"}}]}

data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1}}

data: [DONE]

`

func (cannedSSE) RoundTrip(r *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, r.Body)
	_ = r.Body.Close()
	return &http.Response{
		StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"text/event-stream"}},
		Body: io.NopCloser(strings.NewReader(sseAnswer)), Request: r,
	}, nil
}

// BenchmarkCompleteWithTools is one gateway-style request: a ~2 KB system
// prompt, a short history and the tool set, answered by a canned stream.
func BenchmarkCompleteWithTools(b *testing.B) {
	p, err := openai.New(openai.Config{
		BaseURL: "http://127.0.0.1:1/v1", APIKeys: []string{"sk-bench"}, Model: "gpt-4o-mini",
		HTTPClient: &http.Client{Transport: cannedSSE{}},
	})
	if err != nil {
		b.Fatal(err)
	}
	tools := benchTools()
	msgs := []picoclaw.Message{{Role: picoclaw.RoleSystem, Content: strings.Repeat("You are a helpful assistant. ", 70)}}
	for i := range 10 {
		msgs = append(msgs,
			picoclaw.Message{Role: picoclaw.RoleUser, Content: fmt.Sprintf("question %d", i)},
			picoclaw.Message{Role: picoclaw.RoleAssistant, Content: fmt.Sprintf("answer %d", i)})
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		// The agent builds a fresh slice of the same definitions every turn.
		req := picoclaw.Request{Messages: msgs, Tools: append([]picoclaw.ToolDef(nil), tools...), MaxTokens: 8192}
		if _, err := p.Complete(b.Context(), req, nil); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time, not wall time, is the figure: on a shared machine the
	// wall time per op says more about the neighbours.
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
