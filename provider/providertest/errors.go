package providertest

import (
	_ "embed" // error bodies recorded from real APIs
	"encoding/json"
	"net/http"
)

// Error bodies of real APIs, byte for byte (sources in testdata/README.md).
// Never written; go:embed needs variables.
var (
	//go:embed testdata/openai-error-429-rate-limit.json
	openAIRateLimitBody string
	//go:embed testdata/openai-error-400-context-length-exceeded.json
	openAIContextLengthBody string
	//go:embed testdata/deepseek-error-400-context-length.json
	deepSeekContextLengthBody string
)

// OpenAIRateLimited is OpenAI's 429 (its message says "try again in
// 26.604s") with a Retry-After header of
// retryAfter seconds ("" for none).
func OpenAIRateLimited(retryAfter string) Reply {
	r := Reply{Status: http.StatusTooManyRequests, Body: openAIRateLimitBody}
	if retryAfter != "" {
		r.Header = map[string]string{"Retry-After": retryAfter}
	}
	return r
}

// OpenAIUnauthorized is OpenAI's answer to a wrong key (the shape OpenAI
// documents; the key in the message is masked as OpenAI masks it).
func OpenAIUnauthorized() Reply {
	return Reply{Status: http.StatusUnauthorized, Body: errorBody(
		"Incorrect API key provided: sk-fake***********1234. You can find your API key at https://platform.openai.com/account/api-keys.",
		"invalid_request_error", "", "invalid_api_key")}
}

// OpenAIServerError is a 5xx answer with OpenAI's error shape.
func OpenAIServerError(status int) Reply {
	return Reply{Status: status, Body: errorBody(
		"The server had an error while processing your request. Sorry about that!", "server_error", "", "")}
}

// OpenAIContextLength is OpenAI's 400 for an oversized prompt.
func OpenAIContextLength() Reply {
	return Reply{Status: http.StatusBadRequest, Body: openAIContextLengthBody}
}

// DeepSeekContextLength is DeepSeek's 400 for an oversized prompt, which
// says so only in its message.
func DeepSeekContextLength() Reply {
	return Reply{Status: http.StatusBadRequest, Body: deepSeekContextLengthBody}
}

// errorBody renders {"error":{message,type,param,code}}; empty param and
// code become null as in OpenAI's answers.
func errorBody(msg, typ, param, code string) string {
	null := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{
		"message": msg, "type": typ, "param": null(param), "code": null(code),
	}})
	return string(b)
}
