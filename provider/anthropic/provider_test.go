package anthropic_test

import (
	"encoding/json"
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

func harness() providertest.Harness {
	return providertest.AnthropicHarness(func(t *testing.T, baseURL, apiKey string) picoclaw.Provider {
		return newProvider(t, anthropic.Config{BaseURL: baseURL, APIKeys: []string{apiKey}})
	})
}

func TestConformance(t *testing.T) {
	providertest.RunConformance(t, harness())
}

func TestFixtureReplays(t *testing.T) {
	providertest.RunReplays(t, func(t *testing.T) (providertest.FixtureFake, picoclaw.Provider) {
		return startFake(t, anthropic.Config{})
	}, []providertest.Replay{
		{
			Fixture:      "testdata/anthropic-stream-text.sse",
			Content:      "Hello!",
			FinishReason: "end_turn", Usage: picoclaw.Usage{PromptTokens: 25, CompletionTokens: 15},
		},
		{
			Fixture: "testdata/anthropic-stream-tool-use.sse",
			Content: "Okay, let's check the weather for San Francisco, CA:",
			ToolCalls: []picoclaw.ToolCall{
				{ID: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", Name: "get_weather", Arguments: json.RawMessage(`{"location": "San Francisco, CA", "unit": "fahrenheit"}`)},
			},
			FinishReason: "tool_use", Usage: picoclaw.Usage{PromptTokens: 472, CompletionTokens: 89},
		},
		{
			Fixture:      "testdata/anthropic-stream-thinking.sse",
			Content:      "The greatest common divisor of 1071 and 462 is **21**.",
			Reasoning:    "I need to find the GCD of 1071 and 462 using the Euclidean algorithm.\n\n1071 = 2 × 462 + 147\n462 = 3 × 147 + 21\n147 = 7 × 21 + 0\nThe remainder is 0, so GCD(1071, 462) = 21.",
			FinishReason: "end_turn",
		},
		{
			// OpenRouter: zero usage in message_start, the counts in
			// message_delta; extra fields, a redacted_thinking block, and
			// "event: data" / "data: [DONE]" after message_stop.
			Fixture:   "testdata/anthropic-stream-thinking-tool-use-via-openrouter.sse",
			Content:   "Anthropic is the clear winner here — it has both the **lowest wait time** (120 ms vs. 400 ms and 1800 ms) and the **lowest error rate** (0.01 vs. 0.04 and 0.12). No trade-off needed; I'll route straight to Anthropic.",
			Reasoning: "The user wants me to choose the best provider based on wait_ms and error_rate metrics:\n\n- OpenAI: wait_ms=1800, error_rate=0.12\n- Anthropic: wait_ms=120, error_rate=0.01\n- Gemini: wait_ms=400, error_rate=0.04\n\nAnthropic clearly wins on both metrics - lowest wait time (120ms) and lowest error rate (0.01). I'll route to Anthropic.",
			ToolCalls: []picoclaw.ToolCall{
				{ID: "toolu_01GqmkpGoJRfAT2zBdva1bgV", Name: "get_route_decision", Arguments: json.RawMessage(`{"request_id": "req_fixture_stream_001", "provider": "anthropic", "observed_wait_ms": 120, "reason": "Anthropic has the lowest wait time (120 ms) and the lowest error rate (0.01), outperforming both OpenAI and Gemini on every relevant metric."}`)},
			},
			FinishReason: "tool_use", Usage: picoclaw.Usage{PromptTokens: 743, CompletionTokens: 360},
		},
	})
}

func TestErrors(t *testing.T) {
	const key = "sk-ant-secret-do-not-print"
	raw := func(s string) providertest.Reply { return providertest.Reply{Raw: []byte(s)} }
	start := func(t *testing.T) (providertest.Fake, picoclaw.Provider) {
		return startFake(t, anthropic.Config{APIKeys: []string{key}, Model: "claude-x"})
	}
	msgStart := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
	providertest.RunErrorCases(t, start, key, "anthropic: complete (model claude-x): ", []providertest.ErrorCase{
		{Name: "529 overloaded body as recorded", Reply: providertest.AnthropicOverloaded(), Check: providertest.WantKind(picoclaw.ErrTemporary)},
		{Name: "429 Retry-After", Reply: providertest.AnthropicRateLimited("3"), Check: providertest.WantRetryAfter(3 * time.Second)},
		{Name: "429 without Retry-After", Reply: providertest.AnthropicRateLimited(""), Check: providertest.WantRetryAfter(0)},
		{Name: "401", Reply: providertest.AnthropicUnauthorized(), Check: providertest.WantKind(picoclaw.ErrAuth)},
		{Name: "403 permission_error", Reply: providertest.Reply{Status: http.StatusForbidden, Body: `{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}`}, Check: providertest.WantKind(picoclaw.ErrAuth)},
		{Name: "400 prompt is too long", Reply: providertest.AnthropicContextLength(), Check: providertest.WantKind(picoclaw.ErrContextLength)},
		{Name: "400 input and max_tokens exceed context limit", Reply: providertest.Reply{Status: http.StatusBadRequest, Body: `{"type":"error","error":{"type":"invalid_request_error","message":"input length and ` + "`max_tokens`" + ` exceed context limit: 188240 + 21333 > 200000, decrease input length or ` + "`max_tokens`" + ` and try again"}}`}, Check: providertest.WantKind(picoclaw.ErrContextLength)},
		{Name: "413 request_too_large", Reply: providertest.Reply{Status: http.StatusRequestEntityTooLarge, Body: `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`}, Check: providertest.WantKind(picoclaw.ErrContextLength)},
		{Name: "400 html quoting the key", Reply: providertest.Reply{Status: http.StatusBadRequest, Body: "<html>bad header x-api-key: " + key + "</html>"}, Check: providertest.WantKind(picoclaw.ErrBadResponse)},
		{Name: "502 html from a proxy", Reply: providertest.Reply{Status: http.StatusBadGateway, Body: "<html>Bad Gateway</html>"}, Check: providertest.WantKind(picoclaw.ErrTemporary)},
		{Name: "400 html", Reply: providertest.Reply{Status: http.StatusBadRequest, Body: "<html>Bad Request</html>"}, Check: providertest.WantKind(picoclaw.ErrBadResponse)},
		{Name: "other 400 has no kind", Reply: providertest.Reply{Status: http.StatusBadRequest, Body: `{"type":"error","error":{"type":"invalid_request_error","message":"tools.0.custom.name: String should match pattern"}}`}, Check: providertest.WantNoKind},
		{Name: "overloaded error event", Reply: providertest.AnthropicErrorEvent("overloaded_error", "Overloaded"), Check: providertest.WantKind(picoclaw.ErrTemporary)},
		{Name: "rate limit error event", Reply: providertest.AnthropicErrorEvent("rate_limit_error", "Rate limited"), Check: providertest.WantRetryAfter(0)},
		{Name: "error event without error object", Reply: raw(msgStart + "event: error\ndata: {\"type\":\"error\"}\n\n"), Check: providertest.WantKind(picoclaw.ErrBadResponse)},
		{Name: "json body instead of a stream", Reply: raw(`{"id":"msg_1","type":"message","content":[]}`), Check: providertest.WantKind(picoclaw.ErrBadResponse)},
		{Name: "stream ends without message_stop", Reply: raw(msgStart + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"), Check: providertest.WantKind(picoclaw.ErrTemporary)},
		// go-anthropic's reader panics on a block index past the end.
		{Name: "block index out of range", Reply: raw(msgStart + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":5,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"), Check: providertest.WantKind(picoclaw.ErrBadResponse)},
	})
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
	providertest.RunKeyRotation(t, harness(), func(t *testing.T, keys []string) (providertest.Fake, picoclaw.Provider) {
		return startFake(t, anthropic.Config{APIKeys: keys})
	})
}

func TestRequestTimeout(t *testing.T) {
	providertest.RunRequestTimeout(t, func(t *testing.T, timeout time.Duration) (providertest.Fake, picoclaw.Provider) {
		return startFake(t, anthropic.Config{RequestTimeout: timeout})
	})
}

func TestConnectionRefused(t *testing.T) {
	providertest.RunConnectionRefused(t, func(t *testing.T, baseURL string) picoclaw.Provider {
		return newProvider(t, anthropic.Config{BaseURL: baseURL, APIKeys: []string{"sk-ant-x"}})
	})
}
