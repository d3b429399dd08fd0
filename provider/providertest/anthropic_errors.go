package providertest

import (
	_ "embed" // an error body recorded from the real API
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"picoclaw"
)

// Anthropic's 529 body, byte for byte (source in testdata/README.md).
// Never written; go:embed needs a variable.
//
//go:embed testdata/anthropic-error-529-overloaded.json
var anthropicOverloadedBody string

// anthropicErrorBody renders {"type":"error","error":{type,message}} with
// the top-level request_id the API has added since 2025 (none if "").
func anthropicErrorBody(typ, msg, requestID string) string {
	body := obj{{"type", "error"}, {"error", obj{{"type", typ}, {"message", msg}}}}
	if requestID != "" {
		body = append(body, kv{"request_id", requestID})
	}
	b, _ := json.Marshal(body) // strings only: cannot fail
	return string(b)
}

// AnthropicOverloaded is Anthropic's 529 overloaded_error, as recorded.
func AnthropicOverloaded() Reply {
	return Reply{Status: 529, Body: anthropicOverloadedBody}
}

// AnthropicRateLimited is a 429 rate_limit_error with a retry-after header
// of retryAfter seconds ("" for none).
func AnthropicRateLimited(retryAfter string) Reply {
	r := Reply{Status: http.StatusTooManyRequests, Body: anthropicErrorBody("rate_limit_error",
		"This request would exceed the rate limit for your organization of 50,000 input tokens per minute. Please reduce the prompt length or the maximum tokens requested, or try again later.",
		"req_011CRateLimitedProvidertest")}
	if retryAfter != "" {
		r.Header = map[string]string{"Retry-After": retryAfter}
	}
	return r
}

// AnthropicUnauthorized is the answer to a wrong x-api-key.
func AnthropicUnauthorized() Reply {
	return Reply{Status: http.StatusUnauthorized,
		Body: anthropicErrorBody("authentication_error", "invalid x-api-key", "req_011CUnauthorizedProvidertest")}
}

// AnthropicServerError is a 5xx api_error.
func AnthropicServerError(status int) Reply {
	return Reply{Status: status,
		Body: anthropicErrorBody("api_error", "Internal server error", "req_011CServerErrorProvidertest")}
}

// AnthropicContextLength is the 400 for a prompt over the context window,
// which says so only in its message.
func AnthropicContextLength() Reply {
	return Reply{Status: http.StatusBadRequest, Body: anthropicErrorBody("invalid_request_error",
		"prompt is too long: 208310 tokens > 200000 maximum", "req_011CContextLengthProvidertest")}
}

// AnthropicErrorEvent is a 200 stream that fails after message_start with
// an in-stream error event of errType (e.g. "overloaded_error"), in the
// form Anthropic's streaming docs show.
func AnthropicErrorEvent(errType, msg string) Reply {
	start, _ := json.Marshal(obj{{"type", "message_start"}, {"message", obj{{"id", "msg_providertest_err"},
		{"type", "message"}, {"role", "assistant"}, {"content", []any{}}, {"model", "claude-providertest"},
		{"stop_reason", nil}, {"stop_sequence", nil}, {"usage", obj{{"input_tokens", 10}, {"output_tokens", 1}}}}}})
	return Reply{Raw: []byte("event: message_start\ndata: " + string(start) + "\n\n" +
		"event: error\ndata: " + anthropicErrorBody(errType, msg, "") + "\n\n")}
}

// AnthropicHarness is a Harness over NewAnthropic. newProvider returns a
// provider for the fake at baseURL (ending in /v1) using apiKey.
func AnthropicHarness(newProvider func(t *testing.T, baseURL, apiKey string) picoclaw.Provider) Harness {
	const secret = "sk-ant-providertest-0123456789abcdef"
	return Harness{
		Start:         starter(NewAnthropic, secret, newProvider),
		Secret:        secret,
		RateLimited:   AnthropicRateLimited("7"),
		RetryAfter:    7 * time.Second,
		Unauthorized:  AnthropicUnauthorized(),
		ServerError:   AnthropicServerError(http.StatusInternalServerError),
		Unavailable:   AnthropicOverloaded(),
		ContextLength: AnthropicContextLength(),
	}
}
