package openai_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/provider/openai"
	"picoclaw/provider/providertest"
)

func newProvider(t *testing.T, cfg openai.Config) *openai.Provider {
	t.Helper()
	if cfg.Model == "" {
		cfg.Model = "gpt-4o-mini"
	}
	p, err := openai.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// startFake starts a fake and a provider for it configured by cfg.
func startFake(t *testing.T, cfg openai.Config) (*providertest.OpenAI, *openai.Provider) {
	t.Helper()
	s := providertest.NewOpenAI()
	t.Cleanup(s.Close)
	cfg.BaseURL = s.URL()
	if cfg.APIKeys == nil {
		cfg.APIKeys = []string{"sk-test-key-1"}
	}
	return s, newProvider(t, cfg)
}

func userRequest(text string) picoclaw.Request {
	return picoclaw.Request{Messages: []picoclaw.Message{{Role: picoclaw.RoleUser, Content: text}}}
}

func harness() providertest.Harness {
	return providertest.OpenAIHarness(func(t *testing.T, baseURL, apiKey string) picoclaw.Provider {
		return newProvider(t, openai.Config{BaseURL: baseURL, APIKeys: []string{apiKey}})
	})
}

func TestConformance(t *testing.T) {
	providertest.RunConformance(t, harness())
}

func TestFixtureReplays(t *testing.T) {
	providertest.RunReplays(t, func(t *testing.T) (providertest.FixtureFake, picoclaw.Provider) {
		return startFake(t, openai.Config{})
	}, []providertest.Replay{
		{
			Fixture:      "testdata/openai-chat-stream-content.sse",
			Content:      "I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app.",
			FinishReason: "stop", Usage: picoclaw.Usage{PromptTokens: 14, CompletionTokens: 30},
		},
		{
			Fixture: "testdata/openai-chat-stream-parallel-tool-calls.sse",
			ToolCalls: []picoclaw.ToolCall{
				{ID: "call_JMW1whyEaYG438VE1OIflxA2", Name: "GetWeatherArgs", Arguments: json.RawMessage(`{"city": "Edinburgh", "country": "GB", "units": "c"}`)},
				{ID: "call_DNYTawLBoN8fj3KN6qU9N1Ou", Name: "get_stock_price", Arguments: json.RawMessage(`{"ticker": "AAPL", "exchange": "NASDAQ"}`)},
			},
			FinishReason: "tool_calls", Usage: picoclaw.Usage{PromptTokens: 149, CompletionTokens: 60},
		},
		{
			Fixture:      "testdata/deepseek-reasoner-stream.sse",
			Content:      "Hello! 😊 It's wonderful to meet you!",
			Reasoning:    "Hmm, the user just said \"Hello!\" with an exclamation mark, which suggests a friendly and enthusiastic tone. This is a simple greeting, so no complex analysis is needed. \n\nThe best response would be to mirror their energy with an equally warm and welcoming reply.",
			FinishReason: "stop", Usage: picoclaw.Usage{PromptTokens: 6, CompletionTokens: 169},
		},
		{
			Fixture: "testdata/deepseek-chat-stream-tool-call.sse",
			Content: "I'll check the current weather in Tokyo for you.",
			ToolCalls: []picoclaw.ToolCall{
				{ID: "call_00_Sq0n5HVeFHkS1mBrIGbwBQcK", Name: "get_weather", Arguments: json.RawMessage(`{"location": "Tokyo"}`)},
			},
			FinishReason: "tool_calls", Usage: picoclaw.Usage{PromptTokens: 161, CompletionTokens: 25},
		},
	})
}

func TestErrorBodies(t *testing.T) {
	const key = "sk-secret-do-not-print"
	start := func(t *testing.T) (providertest.Fake, picoclaw.Provider) {
		return startFake(t, openai.Config{APIKeys: []string{key}, Model: "gpt-4"})
	}
	providertest.RunErrorCases(t, start, key, "openai: complete (model gpt-4): ", []providertest.ErrorCase{
		{Name: "openai 429 retry hint in message", Reply: providertest.OpenAIRateLimited(""), Check: providertest.WantRetryAfter(26604 * time.Millisecond)},
		{Name: "openai 429 Retry-After header wins", Reply: providertest.OpenAIRateLimited("3"), Check: providertest.WantRetryAfter(3 * time.Second)},
		{Name: "openai 400 context_length_exceeded", Reply: providertest.OpenAIContextLength(), Check: providertest.WantKind(picoclaw.ErrContextLength)},
		{Name: "deepseek 400 context length in message", Reply: providertest.DeepSeekContextLength(), Check: providertest.WantKind(picoclaw.ErrContextLength)},
		{Name: "403", Reply: providertest.Reply{Status: http.StatusForbidden, Body: `{"error":{"message":"Country not supported","type":"invalid_request_error","code":"unsupported_country_region_territory"}}`}, Check: providertest.WantKind(picoclaw.ErrAuth)},
		{Name: "401 quoting the key", Reply: providertest.Reply{Status: http.StatusUnauthorized, Body: `{"error":{"message":"Incorrect API key provided: ` + key + `.","type":"invalid_request_error","code":"invalid_api_key"}}`}, Check: providertest.WantKind(picoclaw.ErrAuth)},
		{Name: "502 html from a proxy", Reply: providertest.Reply{Status: http.StatusBadGateway, Body: "<html>Bad Gateway</html>"}, Check: providertest.WantKind(picoclaw.ErrTemporary)},
		{Name: "other 400 has no kind", Reply: providertest.Reply{Status: http.StatusBadRequest, Body: `{"error":{"message":"Invalid value for 'tool_choice'","type":"invalid_request_error","param":"tool_choice","code":null}}`}, Check: providertest.WantNoKind},
		{Name: "error event inside the stream", Reply: providertest.Reply{Raw: []byte("data: {\"error\":{\"message\":\"upstream overloaded\",\"type\":\"server_error\",\"code\":502}}\n\n")}, Check: providertest.WantKind(picoclaw.ErrTemporary)},
		{Name: "json body instead of a stream", Reply: providertest.Reply{Raw: []byte(`{"id":"x","object":"chat.completion","choices":[]}`)}, Check: providertest.WantKind(picoclaw.ErrBadResponse)},
		{Name: "stream ends without finish_reason", Reply: providertest.Reply{Raw: []byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n")}, Check: providertest.WantKind(picoclaw.ErrTemporary)},
	})
}

func TestExtraBodyAndCustomHeaders(t *testing.T) {
	s, p := startFake(t, openai.Config{
		ExtraBody:     map[string]any{"enable_thinking": false, "top_k": 20, "chat_template_kwargs": map[string]any{"thinking": true}},
		CustomHeaders: map[string]string{"HTTP-Referer": "https://picoclaw.example", "X-Title": "picoclaw"},
	})
	if _, err := p.Complete(t.Context(), userRequest("hi"), nil); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	got := s.Requests()[0]
	for k, want := range map[string]string{"enable_thinking": "false", "top_k": "20", "chat_template_kwargs": `{"thinking":true}`} {
		if string(got.Extra[k]) != want {
			t.Errorf("body key %s = %s, want %s", k, got.Extra[k], want)
		}
	}
	if got.Header.Get("HTTP-Referer") != "https://picoclaw.example" || got.Header.Get("X-Title") != "picoclaw" {
		t.Errorf("headers = %v, want the custom ones", got.Header)
	}
	if got.Header.Get("Authorization") != "Bearer sk-test-key-1" {
		t.Errorf("Authorization = %q", got.Header.Get("Authorization"))
	}
	if len(got.Messages) != 1 || got.LastUser() != "hi" {
		t.Errorf("messages = %+v, want the request's (body merge must keep them)", got.Messages)
	}
}

func TestKeyRotation(t *testing.T) {
	providertest.RunKeyRotation(t, harness(), func(t *testing.T, keys []string) (providertest.Fake, picoclaw.Provider) {
		return startFake(t, openai.Config{APIKeys: keys})
	})
}

func TestRequestTimeout(t *testing.T) {
	providertest.RunRequestTimeout(t, func(t *testing.T, timeout time.Duration) (providertest.Fake, picoclaw.Provider) {
		return startFake(t, openai.Config{RequestTimeout: timeout})
	})
}

func TestConnectionRefused(t *testing.T) {
	providertest.RunConnectionRefused(t, func(t *testing.T, baseURL string) picoclaw.Provider {
		return newProvider(t, openai.Config{BaseURL: baseURL, APIKeys: []string{"sk-x"}})
	})
}

// OpenRouter names the field "reasoning" rather than "reasoning_content".
func TestReasoningField(t *testing.T) {
	s, p := startFake(t, openai.Config{})
	s.Enqueue(providertest.Reply{Raw: []byte(
		`data: {"id":"gen-1","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning":"Let me think."}}]}` + "\n\n" +
			`data: {"id":"gen-1","choices":[{"index":0,"delta":{"content":"Done.","reasoning":null}}]}` + "\n\n" +
			`data: {"id":"gen-1","choices":[{"index":0,"delta":{"content":""},"finish_reason":"stop"}]}` + "\n\n" +
			"data: [DONE]\n\n")})
	resp, err := p.Complete(t.Context(), userRequest("hi"), nil)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if resp.Reasoning != "Let me think." || resp.Content != "Done." {
		t.Errorf("reasoning, content = %q, %q", resp.Reasoning, resp.Content)
	}
}
