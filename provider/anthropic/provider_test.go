package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/provider/anthropic"
	"picoclaw/provider/providertest"
)

func newProvider(t *testing.T, cfg anthropic.Config) *anthropic.Provider {
	t.Helper()
	if cfg.Model == "" {
		cfg.Model = "claude-sonnet-4-5"
	}
	p, err := anthropic.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// startFake starts a fake and a provider for it configured by cfg.
func startFake(t *testing.T, cfg anthropic.Config) (*providertest.Anthropic, *anthropic.Provider) {
	t.Helper()
	s := providertest.NewAnthropic()
	t.Cleanup(s.Close)
	if cfg.BaseURL == "" {
		cfg.BaseURL = s.URL()
	}
	if cfg.APIKeys == nil {
		cfg.APIKeys = []string{"sk-ant-test-key-1"}
	}
	return s, newProvider(t, cfg)
}

func userRequest(text string) picoclaw.Request {
	return picoclaw.Request{Messages: []picoclaw.Message{{Role: picoclaw.RoleUser, Content: text}}}
}

func TestConformance(t *testing.T) {
	providertest.RunConformance(t, providertest.AnthropicHarness(func(t *testing.T, baseURL, apiKey string) picoclaw.Provider {
		return newProvider(t, anthropic.Config{BaseURL: baseURL, APIKeys: []string{apiKey}})
	}))
}

func TestFixtureReplays(t *testing.T) {
	tests := []struct {
		fixture   string
		content   string
		reasoning string
		calls     []picoclaw.ToolCall
		finish    string
		usage     picoclaw.Usage
	}{
		{
			fixture: "anthropic-stream-text.sse",
			content: "Hello!",
			finish:  "end_turn", usage: picoclaw.Usage{PromptTokens: 25, CompletionTokens: 15},
		},
		{
			fixture: "anthropic-stream-tool-use.sse",
			content: "Okay, let's check the weather for San Francisco, CA:",
			calls: []picoclaw.ToolCall{
				{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Arguments: json.RawMessage(`{"location": "San Francisco, CA", "unit": "fahrenheit"}`)},
			},
			finish: "tool_use", usage: picoclaw.Usage{PromptTokens: 472, CompletionTokens: 89},
		},
		{
			fixture:   "anthropic-stream-thinking.sse",
			content:   "The greatest common divisor of 1071 and 462 is **21**.",
			reasoning: "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0\nThe remainder is 0, so GCD(1071, 462) = 21.",
			finish:    "end_turn",
		},
		{
			// OpenRouter: zero usage in message_start, the counts in
			// message_delta; extra fields, a redacted_thinking block, and
			// "event: data" / "data: [DONE]" after message_stop.
			fixture:   "anthropic-stream-thinking-tool-use-via-openrouter.sse",
			content:   "Anthropic is the clear winner here — it has both the **lowest wait time** (120 ms vs. 400 ms and 1800 ms) and the **lowest error rate** (0.01 vs. 0.04 and 0.12). No trade-off needed; I'll route straight to Anthropic.",
			reasoning: "The user wants me to choose the best provider based on wait_ms and error_rate metrics:\n\n- OpenAI: wait_ms=1800, error_rate=0.12\n- Anthropic: wait_ms=120, error_rate=0.01\n- Gemini: wait_ms=400, error_rate=0.04\n\nAnthropic clearly wins on both metrics - lowest wait time (120ms) and lowest error rate (0.01). I'll route to Anthropic.",
			calls: []picoclaw.ToolCall{
				{ID: "toolu_01GqmkpGoJRfAT2zBdva1bgV", Name: "get_route_decision", Arguments: json.RawMessage(`{"request_id": "req_fixture_stream_001", "provider": "anthropic", "observed_wait_ms": 120, "reason": "Anthropic has the lowest wait time (120 ms) and the lowest error rate (0.01), outperforming both OpenAI and Gemini on every relevant metric."}`)},
			},
			finish: "tool_use", usage: picoclaw.Usage{PromptTokens: 743, CompletionTokens: 360},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			s, p := startFake(t, anthropic.Config{})
			s.ServeFixture("testdata/" + tt.fixture)
			var content, reasoning strings.Builder
			resp, err := p.Complete(t.Context(), userRequest("hi"), func(d picoclaw.Delta) {
				content.WriteString(d.Content)
				reasoning.WriteString(d.Reasoning)
			})
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if resp.Content != tt.content || content.String() != tt.content {
				t.Errorf("content = %q, deltas %q; want %q", resp.Content, content.String(), tt.content)
			}
			if resp.Reasoning != tt.reasoning || reasoning.String() != tt.reasoning {
				t.Errorf("reasoning = %q, deltas %q; want %q", resp.Reasoning, reasoning.String(), tt.reasoning)
			}
			if resp.FinishReason != tt.finish || resp.Usage != tt.usage {
				t.Errorf("finish, usage = %q, %+v; want %q, %+v", resp.FinishReason, resp.Usage, tt.finish, tt.usage)
			}
			if len(resp.ToolCalls) != len(tt.calls) {
				t.Fatalf("tool calls = %+v, want %+v", resp.ToolCalls, tt.calls)
			}
			for i, want := range tt.calls {
				got := resp.ToolCalls[i]
				if got.ID != want.ID || got.Name != want.Name || string(got.Arguments) != string(want.Arguments) {
					t.Errorf("tool call %d = {%s %s %s}, want {%s %s %s}", i, got.ID, got.Name, got.Arguments, want.ID, want.Name, want.Arguments)
				}
			}
		})
	}
}

func TestErrors(t *testing.T) {
	const key = "sk-ant-secret-do-not-print"
	raw := func(s string) providertest.Reply { return providertest.Reply{Raw: []byte(s)} }
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
	tests := []struct {
		name  string
		reply providertest.Reply
		check func(t *testing.T, err error)
	}{
		{"529 overloaded body as recorded", providertest.AnthropicOverloaded(), wantKind(picoclaw.ErrTemporary)},
		{"429 Retry-After", providertest.AnthropicRateLimited("3"), wantRetryAfter(3 * time.Second)},
		{"429 without Retry-After", providertest.AnthropicRateLimited(""), wantRetryAfter(0)},
		{"401", providertest.AnthropicUnauthorized(), wantKind(picoclaw.ErrAuth)},
		{"403 permission_error", providertest.Reply{Status: http.StatusForbidden, Body: `{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}`}, wantKind(picoclaw.ErrAuth)},
		{"400 prompt is too long", providertest.AnthropicContextLength(), wantKind(picoclaw.ErrContextLength)},
		{"400 input and max_tokens exceed context limit", providertest.Reply{Status: http.StatusBadRequest, Body: `{"type":"error","error":{"type":"invalid_request_error","message":"input length and ` + "`max_tokens`" + ` exceed context limit: 188240 + 21333 > 200000, decrease input length or ` + "`max_tokens`" + ` and try again"}}`}, wantKind(picoclaw.ErrContextLength)},
		{"413 request_too_large", providertest.Reply{Status: http.StatusRequestEntityTooLarge, Body: `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`}, wantKind(picoclaw.ErrContextLength)},
		{"502 html from a proxy", providertest.Reply{Status: http.StatusBadGateway, Body: "<html>Bad Gateway</html>"}, wantKind(picoclaw.ErrTemporary)},
		{"400 html", providertest.Reply{Status: http.StatusBadRequest, Body: "<html>Bad Request</html>"}, wantKind(picoclaw.ErrBadResponse)},
		{"other 400 has no kind", providertest.Reply{Status: http.StatusBadRequest, Body: `{"type":"error","error":{"type":"invalid_request_error","message":"tools.0.custom.name: String should match pattern"}}`}, wantNoKind},
		{"overloaded error event", providertest.AnthropicErrorEvent("overloaded_error", "Overloaded"), wantKind(picoclaw.ErrTemporary)},
		{"rate limit error event", providertest.AnthropicErrorEvent("rate_limit_error", "Rate limited"), wantRetryAfter(0)},
		{"error event without error object", raw(start + "event: error\ndata: {\"type\":\"error\"}\n\n"), wantKind(picoclaw.ErrBadResponse)},
		{"json body instead of a stream", raw(`{"id":"msg_1","type":"message","content":[]}`), wantKind(picoclaw.ErrBadResponse)},
		{"stream ends without message_stop", raw(start + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"), wantKind(picoclaw.ErrTemporary)},
		// go-anthropic's reader panics on a block index past the end.
		{"block index out of range", raw(start + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":5,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"), wantKind(picoclaw.ErrBadResponse)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := startFake(t, anthropic.Config{APIKeys: []string{key}, Model: "claude-x"})
			s.Enqueue(tt.reply)
			_, err := p.Complete(t.Context(), userRequest("hi"), nil)
			if err == nil {
				t.Fatal("Complete succeeded, want an error")
			}
			tt.check(t, err)
			if strings.Contains(err.Error(), key) {
				t.Errorf("error %q contains the API key", err)
			}
			if !strings.HasPrefix(err.Error(), "anthropic: complete (model claude-x): ") {
				t.Errorf("error %q does not name the operation and model", err)
			}
		})
	}
}

func wantKind(kind error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, kind) {
			t.Errorf("err = %v, want errors.Is %v", err, kind)
		}
	}
}

func wantRetryAfter(d time.Duration) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var rl *picoclaw.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != d {
			t.Errorf("err = %v, want RateLimitError with RetryAfter %s", err, d)
		}
	}
}

func wantNoKind(t *testing.T, err error) {
	t.Helper()
	if picoclaw.IsRetryable(err) || errors.Is(err, picoclaw.ErrContextLength) || errors.Is(err, picoclaw.ErrAuth) || errors.Is(err, picoclaw.ErrBadResponse) {
		t.Errorf("err = %v, want a plain error", err)
	}
}

// OpenRouter keeps a slow stream alive with SSE comments, hundreds of
// them while a model thinks at length.
func TestKeepAliveComments(t *testing.T) {
	fixture, err := os.ReadFile("testdata/anthropic-stream-text.sse")
	if err != nil {
		t.Fatal(err)
	}
	s, p := startFake(t, anthropic.Config{})
	s.Enqueue(providertest.Reply{Raw: append([]byte(strings.Repeat(": OPENROUTER PROCESSING\n\n", 1000)), fixture...)})
	resp, err := p.Complete(t.Context(), userRequest("hi"), nil)
	if err != nil || resp.Content != "Hello!" {
		t.Fatalf("Complete = %+v, %v; want Hello!", resp, err)
	}
}

func TestKeyRotation(t *testing.T) {
	keys := []string{"sk-ant-a", "sk-ant-b", "sk-ant-c"}
	tests := []struct {
		name     string
		replies  []providertest.Reply
		wantKeys []string
		wantErr  error
	}{
		{"each request takes the next key", nil, []string{"sk-ant-a"}, nil},
		{"429 retries with the next key", []providertest.Reply{providertest.AnthropicRateLimited("1"), {Content: "ok"}}, []string{"sk-ant-a", "sk-ant-b"}, nil},
		{"401 retries with the next key", []providertest.Reply{providertest.AnthropicUnauthorized(), {Content: "ok"}}, []string{"sk-ant-a", "sk-ant-b"}, nil},
		{"only once", []providertest.Reply{providertest.AnthropicUnauthorized(), providertest.AnthropicUnauthorized()}, []string{"sk-ant-a", "sk-ant-b"}, picoclaw.ErrAuth},
		{"529 is not retried", []providertest.Reply{providertest.AnthropicOverloaded()}, []string{"sk-ant-a"}, picoclaw.ErrTemporary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := startFake(t, anthropic.Config{APIKeys: keys})
			s.Enqueue(tt.replies...)
			_, err := p.Complete(t.Context(), userRequest("hi"), nil)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Complete error = %v, want %v", err, tt.wantErr)
			}
			// The next request starts at the key after the last one tried.
			if _, err := p.Complete(t.Context(), userRequest("again"), nil); err != nil {
				t.Fatalf("second Complete: %v", err)
			}
			var got []string
			for _, r := range s.Requests() {
				got = append(got, r.APIKey)
			}
			want := append(append([]string(nil), tt.wantKeys...), keys[len(tt.wantKeys)%len(keys)])
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("keys used = %v, want %v", got, want)
			}
		})
	}
}

func TestRequestTimeout(t *testing.T) {
	s, p := startFake(t, anthropic.Config{RequestTimeout: 50 * time.Millisecond})
	s.Enqueue(providertest.Reply{Delay: time.Minute, Content: "too late"})
	_, err := p.Complete(t.Context(), userRequest("hi"), nil)
	if !errors.Is(err, picoclaw.ErrTemporary) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ErrTemporary wrapping context.DeadlineExceeded", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("err = %v: a provider timeout is not the caller's cancellation", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	s := providertest.NewAnthropic()
	url := s.URL()
	s.Close() // nothing listens there any more
	p := newProvider(t, anthropic.Config{BaseURL: url, APIKeys: []string{"sk-ant-x"}})
	_, err := p.Complete(t.Context(), userRequest("hi"), nil)
	if !errors.Is(err, picoclaw.ErrTemporary) {
		t.Errorf("err = %v, want ErrTemporary", err)
	}
}
