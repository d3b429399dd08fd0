package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"picoclaw/internal/backoff"
)

// EchoModel is the header label of the echo model.
const EchoModel = "echo model: not an AI"

// EchoServer is an OpenAI-compatible chat completions endpoint on
// 127.0.0.1 that answers with the user's last message: the sim's model
// when no real one is configured, reached over the same protocol as a
// real one. It understands a few commands, so that what the gateway does
// with an answer can be seen:
//
//	/long N   an answer of about N×10,000 characters (default 3), split into several messages
//	/think X  reasoning first (to the reasoning chat), then the answer
//	/md       a sample of every markdown element DingTalk renders
type EchoServer struct {
	srv *http.Server
	ln  net.Listener
	// Pause is the wait between streamed pieces, so that a card is seen
	// filling in; 0 streams at once.
	Pause time.Duration
}

// NewEchoServer starts the echo model on a free port of 127.0.0.1.
func NewEchoServer() (*EchoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("echo model: listen: %w", err)
	}
	e := &EchoServer{ln: ln, Pause: 30 * time.Millisecond}
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

// URL is the api_base to configure: http://127.0.0.1:port/v1.
func (e *EchoServer) URL() string { return "http://" + e.ln.Addr().String() + "/v1" }

// Close stops the server.
func (e *EchoServer) Close() error { return e.srv.Close() }

type echoRequest struct {
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
}

func (e *EchoServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.NotFound(w, r)
		return
	}
	var req echoRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"message":"echo model: the body is not JSON","type":"invalid_request_error"}}`)
		return
	}
	last, images := "", 0
	for _, m := range req.Messages {
		if m.Role == "user" {
			last, images = userText(m.Content)
		}
	}
	reasoning, answer := EchoAnswer(last, images)
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	send := func(delta map[string]any, finish any) error {
		b, _ := json.Marshal(map[string]any{"id": "chatcmpl-echo", "object": "chat.completion.chunk", "model": "echo",
			"choices": []map[string]any{{"index": 0, "delta": delta, "finish_reason": finish}}})
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return err
		}
		if fl != nil {
			fl.Flush()
		}
		return nil
	}
	for _, p := range pieces(reasoning) {
		if send(map[string]any{"reasoning_content": p}, nil) != nil || !e.pause(r.Context()) {
			return
		}
	}
	for _, p := range pieces(answer) {
		if send(map[string]any{"content": p}, nil) != nil || !e.pause(r.Context()) {
			return
		}
	}
	if send(map[string]any{}, "stop") == nil {
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}
}

func (e *EchoServer) pause(ctx context.Context) bool {
	if e.Pause <= 0 {
		return true
	}
	return backoff.Sleep(ctx, e.Pause) == nil
}

// pieces cuts s into at most 30 pieces, on rune boundaries.
func pieces(s string) []string {
	r := []rune(s)
	n := max(len(r)/30+1, 40)
	var out []string
	for len(r) > 0 {
		k := min(n, len(r))
		out = append(out, string(r[:k]))
		r = r[k:]
	}
	return out
}

// userText reads a message content: a string, or OpenAI's array of parts.
func userText(raw json.RawMessage) (string, int) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, 0
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", 0
	}
	var texts []string
	images := 0
	for _, p := range parts {
		switch p.Type {
		case "text":
			texts = append(texts, p.Text)
		case "image_url":
			images++
		}
	}
	return strings.Join(texts, "\n"), images
}

// EchoAnswer is the echo model's reasoning and answer to text, which came
// with images pictures.
func EchoAnswer(text string, images int) (reasoning, answer string) {
	t := strings.TrimSpace(text)
	cmd, arg, _ := strings.Cut(t, " ")
	switch cmd {
	case "/long":
		n, err := strconv.Atoi(strings.TrimSpace(arg))
		if err != nil || n < 1 || n > 20 {
			n = 3
		}
		return "", longAnswer(n)
	case "/think":
		reasoning, answer = "Thinking about “"+arg+"”: an echo model does not think, it repeats.", "echo: "+arg
	case "/md":
		return "", mdSample
	default:
		answer = "echo: " + t
	}
	if images > 0 {
		answer += fmt.Sprintf("\n\n(%d picture(s) received)", images)
	}
	return reasoning, answer
}

// longAnswer is about n×10,000 characters in numbered paragraphs, ending
// with a line that says it is the end.
func longAnswer(n int) string {
	var b strings.Builder
	for i := 1; b.Len() < n*10000; i++ {
		fmt.Fprintf(&b, "Paragraph %d. %s\n\n", i, strings.Repeat("The echo model repeats itself to show how a long answer is split. ", 4))
	}
	fmt.Fprintf(&b, "**End of /long %d.**", n)
	return b.String()
}

const mdSample = "# Heading 1\n## Heading 2\n### Heading 3\n\n" +
	"**Bold**, *italic* and a [link](https://open.dingtalk.com).\n\n" +
	"- an unordered list\n- second item\n\n1. an ordered list\n2. second item\n\n" +
	"> a quote\n> on two lines\n\n" +
	"Inline `code` and a block:\n\n```go\nfunc main() {\n\tprintln(\"hello\")\n}\n```\n\n" +
	"| a table | is not rendered |\n| --- | --- |\n| by DingTalk | it stays text |"
