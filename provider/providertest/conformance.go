package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw"
)

// Fake is a scripted server as the conformance suite sees it. Replies are
// protocol-neutral; the fake renders them in its wire format and records
// requests in the normalised RecordedRequest shape.
type Fake interface {
	Enqueue(r ...Reply)
	Requests() []RecordedRequest
	WaitRequests(ctx context.Context, n int) ([]RecordedRequest, error)
}

// Harness connects RunConformance to a provider and a fake of its
// protocol.
type Harness struct {
	// Start starts a fresh fake and a provider talking to it with the one
	// API key Secret (a single key, so no rotation retries), a model set,
	// and no retries of its own. Both must be stopped through t.Cleanup.
	Start func(t *testing.T) (Fake, picoclaw.Provider)
	// Secret is the API key Start configures; no error may mention it.
	Secret string

	// The protocol's error answers.
	RateLimited   Reply // a 429 announcing RetryAfter
	RetryAfter    time.Duration
	Unauthorized  Reply
	ServerError   Reply // a 500
	Unavailable   Reply // a 503 (or the protocol's overload answer)
	ContextLength Reply // a 400 for an oversized prompt
}

// OpenAIHarness is a Harness over NewOpenAI. newProvider returns a
// provider for the fake at baseURL (ending in /v1) using apiKey.
func OpenAIHarness(newProvider func(t *testing.T, baseURL, apiKey string) picoclaw.Provider) Harness {
	const secret = "sk-providertest-0123456789abcdef"
	return Harness{
		Start:         starter(NewOpenAI, secret, newProvider),
		Secret:        secret,
		RateLimited:   OpenAIRateLimited("7"),
		RetryAfter:    7 * time.Second,
		Unauthorized:  OpenAIUnauthorized(),
		ServerError:   OpenAIServerError(500),
		Unavailable:   OpenAIServerError(503),
		ContextLength: OpenAIContextLength(),
	}
}

// RunConformance checks that a provider streams text, reasoning and tool
// calls, accepts its own tool round trip, maps errors to picoclaw's kinds
// and honours cancellation.
func RunConformance(t *testing.T, h Harness) {
	t.Helper()
	checks := []struct {
		name string
		run  func(*testing.T, Harness)
	}{
		{"PlainText", checkPlainText},
		{"StreamedDeltas", checkStreamedDeltas},
		{"ToolCallRoundTrip", checkToolRoundTrip},
		{"ParallelToolCalls", checkParallelToolCalls},
		{"Reasoning", checkReasoning},
		{"Errors", checkErrors},
		{"Cancellation", checkCancellation},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, h) })
	}
}

// deltas records what a provider streamed.
type deltas struct {
	mu                 sync.Mutex
	content, reasoning []string
}

func (d *deltas) on(x picoclaw.Delta) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if x.Content != "" {
		d.content = append(d.content, x.Content)
	}
	if x.Reasoning != "" {
		d.reasoning = append(d.reasoning, x.Reasoning)
	}
}

func (d *deltas) get() (content, reasoning []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.content...), append([]string(nil), d.reasoning...)
}

func userRequest(text string) picoclaw.Request {
	return picoclaw.Request{Messages: []picoclaw.Message{{Role: picoclaw.RoleUser, Content: text}}}
}

func mustComplete(t *testing.T, p picoclaw.Provider, req picoclaw.Request, on func(picoclaw.Delta)) *picoclaw.Response {
	t.Helper()
	resp, err := p.Complete(t.Context(), req, on)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if resp == nil {
		t.Fatal("Complete returned a nil response and no error")
	}
	return resp
}

func checkPlainText(t *testing.T, h Harness) {
	fake, p := h.Start(t)
	const answer = "Hello from the fake."
	fake.Enqueue(Reply{Content: answer})
	temp := 0.5
	req := picoclaw.Request{
		Messages: []picoclaw.Message{
			{Role: picoclaw.RoleSystem, Content: "Be brief."},
			{Role: picoclaw.RoleUser, Content: "Say hello."},
		},
		MaxTokens:   100,
		Temperature: &temp,
	}
	resp := mustComplete(t, p, req, nil) // a nil onDelta must be allowed
	if resp.Content != answer || resp.Reasoning != "" || len(resp.ToolCalls) != 0 {
		t.Errorf("response = %+v, want content %q only", resp, answer)
	}
	if resp.FinishReason == "" {
		t.Error("FinishReason is empty")
	}
	reqs := fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("fake saw %d requests, want 1", len(reqs))
	}
	got := reqs[0]
	if got.Model == "" {
		t.Error("request has no model")
	}
	if h.Secret != "" && got.APIKey != h.Secret {
		t.Errorf("request API key = %q, want the configured one", got.APIKey)
	}
	if !hasMessage(got, "system", "Be brief.") || !hasMessage(got, "user", "Say hello.") {
		t.Errorf("request messages = %+v, want the system and user texts", got.Messages)
	}
	if got.MaxTokens != 100 {
		t.Errorf("request max tokens = %d, want 100", got.MaxTokens)
	}
	if got.Temperature == nil || *got.Temperature != temp {
		t.Errorf("request temperature = %v, want %v", got.Temperature, temp)
	}
}

func hasMessage(r RecordedRequest, role, content string) bool {
	for _, m := range r.Messages {
		if m.Role == role && m.Content == content {
			return true
		}
	}
	return false
}

func checkStreamedDeltas(t *testing.T, h Harness) {
	fake, p := h.Start(t)
	const answer = "Streaming works: 你好，世界! Each piece arrives as it is made."
	fake.Enqueue(Reply{Content: answer, ChunkSize: 5})
	var d deltas
	resp := mustComplete(t, p, userRequest("stream please"), d.on)
	content, reasoning := d.get()
	if len(content) < 2 {
		t.Errorf("got %d content deltas, want several", len(content))
	}
	if got := strings.Join(content, ""); got != answer {
		t.Errorf("deltas joined = %q, want %q", got, answer)
	}
	if resp.Content != answer {
		t.Errorf("Content = %q, want %q", resp.Content, answer)
	}
	if len(reasoning) != 0 {
		t.Errorf("got reasoning deltas %q for a reply without reasoning", reasoning)
	}
}

func weatherTool() picoclaw.ToolDef {
	return picoclaw.ToolDef{
		Name:        "get_weather",
		Description: "Current weather of a city.",
		Parameters:  json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},"required":["city"]}`),
	}
}

func checkToolRoundTrip(t *testing.T, h Harness) {
	fake, p := h.Start(t)
	call := picoclaw.ToolCall{ID: "call_weather_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris","unit":"celsius"}`)}
	fake.Enqueue(Reply{ToolCalls: []picoclaw.ToolCall{call}, ChunkSize: 4})
	req := userRequest("Weather in Paris?")
	req.Tools = []picoclaw.ToolDef{weatherTool()}
	resp := mustComplete(t, p, req, nil)
	if len(resp.ToolCalls) != 1 {
		t.Fatalf("got %d tool calls, want 1: %+v", len(resp.ToolCalls), resp)
	}
	checkCall(t, resp.ToolCalls[0], call)

	reqs := fake.Requests()
	if len(reqs) != 1 || len(reqs[0].Tools) != 1 {
		t.Fatalf("fake saw tools %+v, want get_weather", reqs)
	}
	want := weatherTool()
	if tool := reqs[0].Tools[0]; tool.Name != want.Name || !jsonEqual(tool.Parameters, want.Parameters) {
		t.Errorf("fake saw tool %s %s, want %s %s", tool.Name, tool.Parameters, want.Name, want.Parameters)
	}

	const result = "18°C, sunny"
	fake.Enqueue(Reply{Content: "It is 18°C and sunny in Paris."})
	req.Messages = append(req.Messages,
		picoclaw.Message{Role: picoclaw.RoleAssistant, Content: resp.Content, ToolCalls: resp.ToolCalls},
		picoclaw.Message{Role: picoclaw.RoleTool, ToolCallID: call.ID, Name: call.Name, Content: result},
	)
	final := mustComplete(t, p, req, nil)
	if final.Content != "It is 18°C and sunny in Paris." {
		t.Errorf("final Content = %q", final.Content)
	}
	reqs = fake.Requests()
	if len(reqs) != 2 {
		t.Fatalf("fake saw %d requests, want 2", len(reqs))
	}
	var sawCall, sawResult bool
	for _, m := range reqs[1].Messages {
		for _, tc := range m.ToolCalls {
			if m.Role == "assistant" && tc.ID == call.ID && tc.Name == call.Name && jsonEqual(tc.Arguments, call.Arguments) {
				sawCall = true
			}
		}
		if m.Role == "tool" && m.ToolCallID == call.ID && m.Content == result {
			sawResult = true
		}
	}
	if !sawCall || !sawResult {
		t.Errorf("second request messages = %+v, want the assistant's call and the tool result for %s", reqs[1].Messages, call.ID)
	}
}

func checkCall(t *testing.T, got, want picoclaw.ToolCall) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || !jsonEqual(got.Arguments, want.Arguments) {
		t.Errorf("tool call = {%s %s %s}, want {%s %s %s}", got.ID, got.Name, got.Arguments, want.ID, want.Name, want.Arguments)
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func checkParallelToolCalls(t *testing.T, h Harness) {
	calls := []picoclaw.ToolCall{
		{ID: "call_a", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Edinburgh","unit":"celsius"}`)},
		{ID: "call_b", Name: "get_stock_price", Arguments: json.RawMessage(`{"ticker":"AAPL","exchange":"NASDAQ"}`)},
	}
	for _, interleave := range []bool{false, true} {
		name := "Sequential"
		if interleave {
			name = "Interleaved"
		}
		t.Run(name, func(t *testing.T) {
			fake, p := h.Start(t)
			fake.Enqueue(Reply{ToolCalls: calls, ChunkSize: 3, InterleaveToolCalls: interleave})
			req := userRequest("Weather in Edinburgh and the AAPL price?")
			req.Tools = []picoclaw.ToolDef{weatherTool(), {Name: "get_stock_price", Description: "Stock price.",
				Parameters: json.RawMessage(`{"type":"object","properties":{"ticker":{"type":"string"},"exchange":{"type":"string"}}}`)}}
			resp := mustComplete(t, p, req, nil)
			if len(resp.ToolCalls) != len(calls) {
				t.Fatalf("got %d tool calls, want %d: %+v", len(resp.ToolCalls), len(calls), resp.ToolCalls)
			}
			for i := range calls {
				checkCall(t, resp.ToolCalls[i], calls[i])
			}
		})
	}
}

func checkReasoning(t *testing.T, h Harness) {
	fake, p := h.Start(t)
	const thinking = "The user greets me. A warm greeting back is best."
	const answer = "Hello! Nice to meet you."
	fake.Enqueue(Reply{Reasoning: thinking, Content: answer, ChunkSize: 6})
	var d deltas
	resp := mustComplete(t, p, userRequest("Hello!"), d.on)
	if resp.Reasoning != thinking {
		t.Errorf("Reasoning = %q, want %q", resp.Reasoning, thinking)
	}
	if resp.Content != answer {
		t.Errorf("Content = %q, want %q (reasoning must stay out)", resp.Content, answer)
	}
	content, reasoning := d.get()
	if got := strings.Join(reasoning, ""); got != thinking {
		t.Errorf("reasoning deltas joined = %q, want %q", got, thinking)
	}
	if got := strings.Join(content, ""); got != answer {
		t.Errorf("content deltas joined = %q, want %q", got, answer)
	}
}

func checkErrors(t *testing.T, h Harness) {
	long := strings.Repeat("This answer will not finish. ", 20)
	tests := []struct {
		name  string
		reply Reply
		check func(error) string // "" when err is right
	}{
		{"RateLimit", h.RateLimited, func(err error) string {
			var rl *picoclaw.RateLimitError
			if !errors.As(err, &rl) {
				return "want a *picoclaw.RateLimitError"
			}
			if h.RetryAfter > 0 && rl.RetryAfter != h.RetryAfter {
				return "RetryAfter = " + rl.RetryAfter.String() + ", want " + h.RetryAfter.String()
			}
			return ""
		}},
		{"Unauthorized", h.Unauthorized, kind(picoclaw.ErrAuth)},
		{"ServerError", h.ServerError, kind(picoclaw.ErrTemporary)},
		{"Unavailable", h.Unavailable, kind(picoclaw.ErrTemporary)},
		{"ContextLength", h.ContextLength, kind(picoclaw.ErrContextLength)},
		{"CutStream", Reply{Content: long, CutStream: true}, kind(picoclaw.ErrTemporary)},
		{"Malformed", Reply{Content: long, Malformed: true}, kind(picoclaw.ErrBadResponse)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, p := h.Start(t)
			fake.Enqueue(tt.reply)
			resp, err := p.Complete(t.Context(), userRequest("hi"), nil)
			if err == nil {
				t.Fatalf("Complete = %+v, want an error", resp)
			}
			if msg := tt.check(err); msg != "" {
				t.Errorf("error %q: %s", err, msg)
			}
			if h.Secret != "" && strings.Contains(err.Error(), h.Secret) {
				t.Errorf("error %q contains the API key", err)
			}
		})
	}
}

func kind(want error) func(error) string {
	return func(err error) string {
		if !errors.Is(err, want) {
			return "want errors.Is " + want.Error()
		}
		return ""
	}
}

func checkCancellation(t *testing.T, h Harness) {
	fake, p := h.Start(t)
	// Were cancellation ignored, the answer would come after the delay
	// and the check below would fail.
	fake.Enqueue(Reply{Delay: time.Minute, Content: "too late"})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := p.Complete(ctx, userRequest("hi"), nil)
		errc <- err
	}()
	if _, err := fake.WaitRequests(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Complete after cancel = %v, want context.Canceled", err)
	}
}
