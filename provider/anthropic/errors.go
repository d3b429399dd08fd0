package anthropic

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	goanthropic "github.com/liushuangls/go-anthropic/v2"

	"picoclaw"
	"picoclaw/internal/text"
	"picoclaw/provider/internal/httpx"
)

// errStreamPanic marks a stream go-anthropic could not read at all.
var errStreamPanic = errors.New("unreadable stream")

// classify turns an error of one attempt into one carrying a picoclaw
// error kind. status and header are those of the HTTP answer, if any (an
// error event inside a 200 stream has status 200); key is removed from any
// server text quoted. Context errors are left to the caller, which knows
// which context ended.
func classify(err error, status int, header http.Header, key string) error {
	var (
		apiErr *goanthropic.APIError
		reqErr *goanthropic.RequestError
		synErr *json.SyntaxError
		typErr *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &apiErr):
		if apiErr == nil {
			// go-anthropic returns a typed nil for an error event whose
			// data has no "error" object.
			return fmt.Errorf("%w: error event without an error object", picoclaw.ErrBadResponse)
		}
		return classifyAPI(status, string(apiErr.Type), text.Redact(apiErr.Message, key), header)
	case errors.As(err, &reqErr):
		// A body that is not Anthropic's error shape (a proxy's HTML page).
		e := classifyAPI(reqErr.StatusCode, "", text.Redact(string(reqErr.Body), key), header)
		if reqErr.StatusCode >= 400 && reqErr.StatusCode < 500 && !kinded(e) {
			return fmt.Errorf("%w: %w", picoclaw.ErrBadResponse, e)
		}
		return e
	case errors.As(err, &synErr), errors.As(err, &typErr):
		return fmt.Errorf("%w: decode stream event: %w", picoclaw.ErrBadResponse, err)
	case errors.Is(err, goanthropic.ErrTooManyEmptyStreamMessages), errors.Is(err, errStreamPanic):
		return fmt.Errorf("%w: %w", picoclaw.ErrBadResponse, err)
	case errors.Is(err, httpx.ErrBody):
		return err // our own request encoding failed; retrying cannot help
	default:
		// Connection refused or reset, TLS failure, a stream cut mid-way
		// (io.ErrUnexpectedEOF): the network, not the request, is at fault.
		return fmt.Errorf("%w: %w", picoclaw.ErrTemporary, err)
	}
}

func kinded(err error) bool {
	var rl *picoclaw.RateLimitError
	return errors.Is(err, picoclaw.ErrAuth) || errors.Is(err, picoclaw.ErrTemporary) ||
		errors.Is(err, picoclaw.ErrContextLength) || errors.As(err, &rl)
}

// classifyAPI maps an error answer by HTTP status and Anthropic's error
// type (either may be missing); status 200 means an event: error inside
// the stream.
func classifyAPI(status int, typ, msg string, header http.Header) error {
	desc := text.Snippet(msg, httpx.MaxErrText)
	if typ != "" {
		desc = typ + ": " + desc
	}
	if status != 0 && status != http.StatusOK {
		desc = fmt.Sprintf("HTTP %d: %s", status, desc)
	}
	if id := header.Get("Request-Id"); id != "" {
		desc += " (request-id " + id + ")"
	}
	base := errors.New(desc)
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden,
		typ == "authentication_error" || typ == "permission_error":
		return fmt.Errorf("%w: %w", picoclaw.ErrAuth, base)
	case status == http.StatusTooManyRequests || typ == "rate_limit_error":
		return &picoclaw.RateLimitError{RetryAfter: httpx.RetryAfter(header), Err: base}
	case status == http.StatusRequestEntityTooLarge || typ == "request_too_large":
		// Over the request size limit (images, mostly): a smaller request
		// is the fix, as for an oversized prompt.
		return fmt.Errorf("%w: %w", picoclaw.ErrContextLength, base)
	case (status == http.StatusBadRequest || typ == "invalid_request_error") && isContextLength(msg):
		return fmt.Errorf("%w: %w", picoclaw.ErrContextLength, base)
	case status >= 500, status == http.StatusRequestTimeout,
		typ == "overloaded_error" || typ == "api_error" || typ == "timeout_error":
		// 529 is Anthropic's "overloaded".
		return fmt.Errorf("%w: %w", picoclaw.ErrTemporary, base)
	case status == http.StatusOK && typ != "invalid_request_error":
		// Any other error event is an upstream failure mid-answer.
		return fmt.Errorf("%w: %w", picoclaw.ErrTemporary, base)
	default:
		return base
	}
}

// isContextLength recognises context overflow, which Anthropic reports
// only in the message ("prompt is too long: 208310 tokens > 200000
// maximum", "input length and `max_tokens` exceed context limit: …").
func isContextLength(msg string) bool {
	m := strings.ToLower(msg)
	for _, s := range []string{"prompt is too long", "context limit", "context window", "context length", "maximum context"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}
