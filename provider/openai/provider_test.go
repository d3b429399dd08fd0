package openai_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
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

func TestConformance(t *testing.T) {
	providertest.RunConformance(t, providertest.OpenAIHarness(func(t *testing.T, baseURL, apiKey string) picoclaw.Provider {
		return newProvider(t, openai.Config{BaseURL: baseURL, APIKeys: []string{apiKey}})
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
			fixture: "openai-chat-stream-content.sse",
			content: "I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app.",
			finish:  "stop", usage: picoclaw.Usage{PromptTokens: 14, CompletionTokens: 30},
		},
		{
			fixture: "openai-chat-stream-parallel-tool-calls.sse",
			calls: []picoclaw.ToolCall{
				{ID: "call_JMW1whyEaYG438VE1OIflxA2", Name: "GetWeatherArgs", Arguments: json.RawMessage(`{"city": "Edinburgh", "country": "GB", "units": "c"}`)},
				{ID: "call_DNYTawLBoN8fj3KN6qU9N1Ou", Name: "get_stock_price", Arguments: json.RawMessage(`{"ticker": "AAPL", "exchange": "NASDAQ"}`)},
			},
			finish: "tool_calls", usage: picoclaw.Usage{PromptTokens: 149, CompletionTokens: 60},
		},
		{
			fixture:   "deepseek-reasoner-stream.sse",
			content:   "Hello! 😊 It's wonderful to meet you!",
			reasoning: "Hmm, the user just said \"Hello!\" with an exclamation mark, which suggests a friendly and enthusiastic tone. This is a simple greeting, so no complex analysis is needed. \n\nThe best response would be to mirror their energy with an equally warm and welcoming reply.",
			finish:    "stop", usage: picoclaw.Usage{PromptTokens: 6, CompletionTokens: 169},
		},
		{
			fixture: "deepseek-chat-stream-tool-call.sse",
			content: "I'll check the current weather in Tokyo for you.",
			calls: []picoclaw.ToolCall{
				{ID: "call_00_Sq0n5HVeFHkS1mBrIGbwBQcK", Name: "get_weather", Arguments: json.RawMessage(`{"location": "Tokyo"}`)},
			},
			finish: "tool_calls", usage: picoclaw.Usage{PromptTokens: 161, CompletionTokens: 25},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			s, p := startFake(t, openai.Config{})
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

func TestErrorBodies(t *testing.T) {
	const key = "sk-secret-do-not-print"
	tests := []struct {
		name  string
		reply providertest.Reply
		check func(t *testing.T, err error)
	}{
		{"openai 429 retry hint in message", providertest.OpenAIRateLimited(""), func(t *testing.T, err error) {
			var rl *picoclaw.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != 26604*time.Millisecond {
				t.Errorf("err = %v, want RateLimitError with RetryAfter 26.604s", err)
			}
		}},
		{"openai 429 Retry-After header wins", providertest.OpenAIRateLimited("3"), func(t *testing.T, err error) {
			var rl *picoclaw.RateLimitError
			if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Second {
				t.Errorf("err = %v, want RateLimitError with RetryAfter 3s", err)
			}
		}},
		{"openai 400 context_length_exceeded", providertest.OpenAIContextLength(), wantKind(picoclaw.ErrContextLength)},
		{"deepseek 400 context length in message", providertest.DeepSeekContextLength(), wantKind(picoclaw.ErrContextLength)},
		{"403", providertest.Reply{Status: http.StatusForbidden, Body: `{"error":{"message":"Country not supported","type":"invalid_request_error","code":"unsupported_country_region_territory"}}`}, wantKind(picoclaw.ErrAuth)},
		{"502 html from a proxy", providertest.Reply{Status: http.StatusBadGateway, Body: "<html>Bad Gateway</html>"}, wantKind(picoclaw.ErrTemporary)},
		{"other 400 has no kind", providertest.Reply{Status: http.StatusBadRequest, Body: `{"error":{"message":"Invalid value for 'tool_choice'","type":"invalid_request_error","param":"tool_choice","code":null}}`}, func(t *testing.T, err error) {
			if picoclaw.IsRetryable(err) || errors.Is(err, picoclaw.ErrContextLength) || errors.Is(err, picoclaw.ErrAuth) {
				t.Errorf("err = %v, want a plain error", err)
			}
		}},
		{"error event inside the stream", providertest.Reply{Raw: []byte("data: {\"error\":{\"message\":\"upstream overloaded\",\"type\":\"server_error\",\"code\":502}}\n\n")}, wantKind(picoclaw.ErrTemporary)},
		{"json body instead of a stream", providertest.Reply{Raw: []byte(`{"id":"x","object":"chat.completion","choices":[]}`)}, wantKind(picoclaw.ErrBadResponse)},
		{"stream ends without finish_reason", providertest.Reply{Raw: []byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n")}, wantKind(picoclaw.ErrTemporary)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := startFake(t, openai.Config{APIKeys: []string{key}, Model: "gpt-4"})
			s.Enqueue(tt.reply)
			_, err := p.Complete(t.Context(), userRequest("hi"), nil)
			if err == nil {
				t.Fatal("Complete succeeded, want an error")
			}
			tt.check(t, err)
			if strings.Contains(err.Error(), key) {
				t.Errorf("error %q contains the API key", err)
			}
			if !strings.HasPrefix(err.Error(), "openai: complete (model gpt-4): ") {
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
	keys := []string{"sk-a", "sk-b", "sk-c"}
	tests := []struct {
		name     string
		replies  []providertest.Reply
		wantKeys []string
		wantErr  error
	}{
		{"each request takes the next key", nil, []string{"sk-a"}, nil},
		{"429 retries with the next key", []providertest.Reply{providertest.OpenAIRateLimited("1"), {Content: "ok"}}, []string{"sk-a", "sk-b"}, nil},
		{"401 retries with the next key", []providertest.Reply{providertest.OpenAIUnauthorized(), {Content: "ok"}}, []string{"sk-a", "sk-b"}, nil},
		{"only once", []providertest.Reply{providertest.OpenAIUnauthorized(), providertest.OpenAIUnauthorized()}, []string{"sk-a", "sk-b"}, picoclaw.ErrAuth},
		{"500 is not retried", []providertest.Reply{providertest.OpenAIServerError(500)}, []string{"sk-a"}, picoclaw.ErrTemporary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := startFake(t, openai.Config{APIKeys: keys})
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
	s, p := startFake(t, openai.Config{RequestTimeout: 50 * time.Millisecond})
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
	s := providertest.NewOpenAI()
	url := s.URL()
	s.Close() // nothing listens there any more
	p := newProvider(t, openai.Config{BaseURL: url, APIKeys: []string{"sk-x"}})
	_, err := p.Complete(t.Context(), userRequest("hi"), nil)
	if !errors.Is(err, picoclaw.ErrTemporary) {
		t.Errorf("err = %v, want ErrTemporary", err)
	}
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
