package sim

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEchoAnswer(t *testing.T) {
	if _, a := EchoAnswer("hi there", 0); a != "echo: hi there" {
		t.Errorf("echo = %q", a)
	}
	if _, a := EchoAnswer("look", 2); !strings.Contains(a, "2 picture(s) received") {
		t.Errorf("with pictures = %q", a)
	}
	r, a := EchoAnswer("/think deeply", 0)
	if r == "" || a != "echo: deeply" {
		t.Errorf("/think = %q, %q; want reasoning and the echo", r, a)
	}
	_, a = EchoAnswer("/long 4", 0)
	if n := utf8.RuneCountInString(a); n < 40000 || n > 41000 || !strings.HasSuffix(a, "**End of /long 4.**") {
		t.Errorf("/long 4: %d characters ending %q; want about 40,000 and an end line", n, a[len(a)-30:])
	}
	for _, bad := range []string{"/long", "/long x", "/long 0", "/long 999"} {
		if _, a := EchoAnswer(bad, 0); !strings.Contains(a, "End of /long 3") {
			t.Errorf("%q does not fall back to /long 3", bad)
		}
	}
}

// The echo speaks OpenAI's streamed chat completions: the pieces of the
// answer, reasoning first, a finish reason and [DONE].
func TestEchoServerStreams(t *testing.T) {
	e, err := NewEchoServer()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	e.Pause = 0
	body := `{"model":"echo","stream":true,"messages":[{"role":"system","content":"be nice"},` +
		`{"role":"user","content":[{"type":"text","text":"/think it over"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}`
	resp, err := http.Post(e.URL()+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var content, reasoning strings.Builder
	finish, done := "", false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var c struct {
			Choices []struct {
				Delta struct {
					Content          string `json:"content"`
					ReasoningContent string `json:"reasoning_content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil || len(c.Choices) != 1 {
			t.Fatalf("chunk %s: %v", data, err)
		}
		if content.Len() > 0 && c.Choices[0].Delta.ReasoningContent != "" {
			t.Error("reasoning after the answer began")
		}
		content.WriteString(c.Choices[0].Delta.Content)
		reasoning.WriteString(c.Choices[0].Delta.ReasoningContent)
		if f := c.Choices[0].FinishReason; f != nil {
			finish = *f
		}
	}
	if content.String() != "echo: it over\n\n(1 picture(s) received)" || reasoning.Len() == 0 || finish != "stop" || !done {
		t.Errorf("stream = content %q, reasoning %q, finish %q, done %v", content.String(), reasoning.String(), finish, done)
	}
}
