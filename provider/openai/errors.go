package openai

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"picoclaw"
	"picoclaw/internal/text"
	"picoclaw/provider/internal/httpx"
)

// classify turns an error of one attempt into one carrying a picoclaw
// error kind. header is that of the HTTP response, if any;
// key is removed from any server text quoted (OpenAI echoes part of a bad
// key). Context errors are left to the caller, which knows which context
// ended.
func classify(err error, header http.Header, key string) error {
	var (
		apiErr *goopenai.APIError
		reqErr *goopenai.RequestError
		synErr *json.SyntaxError
		typErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &apiErr):
		// HTTPStatusCode is 0 for an error event inside a 200 stream.
		status := apiErr.HTTPStatusCode
		code := ""
		if apiErr.Code != nil {
			code = fmt.Sprint(apiErr.Code)
		}
		return classifyAPI(status, code, text.Redact(apiErr.Message, key), header)
	case errors.As(err, &reqErr):
		// A body that is not OpenAI's error shape (a proxy's HTML page).
		return classifyAPI(reqErr.HTTPStatusCode, "", text.Redact(string(reqErr.Body), key), header)
	case errors.As(err, &synErr), errors.As(err, &typErr),
		errors.Is(err, goopenai.ErrTooManyEmptyStreamMessages):
		return fmt.Errorf("%w: %w", picoclaw.ErrBadResponse, err)
	case errors.Is(err, httpx.ErrBody):
		return err // our own request encoding failed; retrying cannot help
	default:
		// Connection refused or reset, TLS failure, a stream cut mid-way
		// (io.ErrUnexpectedEOF): the network, not the request, is at fault.
		return fmt.Errorf("%w: %w", picoclaw.ErrTemporary, err)
	}
}

// classifyAPI maps an error answer; status is 0 for an error event sent
// inside a 200 stream.
func classifyAPI(status int, code, msg string, header http.Header) error {
	snippet := text.Snippet(msg, httpx.MaxErrText)
	desc := snippet
	if status != 0 {
		desc = fmt.Sprintf("HTTP %d: %s", status, snippet)
	}
	base := errors.New(desc)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return fmt.Errorf("%w: %w", picoclaw.ErrAuth, base)
	case status == http.StatusTooManyRequests || code == "rate_limit_exceeded":
		return &picoclaw.RateLimitError{RetryAfter: retryAfter(header, msg), Err: base}
	case isContextLength(code, msg):
		return fmt.Errorf("%w: %w", picoclaw.ErrContextLength, base)
	case status >= 500, status == http.StatusRequestTimeout, status == 0:
		// An in-stream error event is an upstream failure mid-answer.
		return fmt.Errorf("%w: %w", picoclaw.ErrTemporary, base)
	default:
		return base
	}
}

// isContextLength recognises context overflow. OpenAI sets the code;
// DeepSeek and most others say it only in the message.
func isContextLength(code, msg string) bool {
	if code == "context_length_exceeded" {
		return true
	}
	m := strings.ToLower(msg)
	for _, s := range []string{"maximum context length", "context length", "context_length", "too many tokens", "context window"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// retryAfter reads OpenAI's retry-after-ms, Retry-After (seconds or
// HTTP date), or "try again in 26.604s" in the message.
func retryAfter(h http.Header, msg string) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	if d := httpx.RetryAfter(h); d > 0 {
		return d
	}
	const phrase = "try again in "
	i := strings.Index(strings.ToLower(msg), phrase)
	if i < 0 {
		return 0
	}
	rest := msg[i+len(phrase):]
	end := strings.IndexFunc(rest, func(r rune) bool {
		return !(r >= '0' && r <= '9' || r == '.' || r >= 'a' && r <= 'z' || r == 'µ')
	})
	if end >= 0 {
		rest = rest[:end]
	}
	d, err := time.ParseDuration(strings.TrimRight(rest, "."))
	if err != nil || d < 0 {
		return 0
	}
	return d
}

// streamEnd checks a stream that ended without an error event.
func streamEnd(chunks int, finish string) error {
	switch {
	case chunks == 0:
		return fmt.Errorf("%w: no data events in the answer", picoclaw.ErrBadResponse)
	case finish == "":
		// go-openai reports [DONE] and a closed body alike as io.EOF; a
		// stream without finish_reason was cut short.
		return fmt.Errorf("%w: stream ended before finish_reason: %w", picoclaw.ErrTemporary, io.ErrUnexpectedEOF)
	}
	return nil
}
