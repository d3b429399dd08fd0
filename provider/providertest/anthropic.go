package providertest

import (
	"fmt"
	"io"
	"net/http"
)

// anthropicVersion is the only API version the fake (like go-anthropic)
// speaks.
const anthropicVersion = "2023-06-01"

// Anthropic is a fake Anthropic Messages API server on 127.0.0.1. It
// answers POST {URL}/messages with scripted replies (Enqueue,
// ServeFixture), else with its handler (SetHandler), else by echoing the
// last user message, streaming as Anthropic does when the request says
// "stream": true. It validates requests as the real API does (see
// validateAnthropic) and records them in the protocol-neutral
// RecordedRequest shape: the system prompt as a leading "system" message
// and each tool_result block as a "tool" message. Safe for concurrent use.
type Anthropic struct {
	server
}

// NewAnthropic starts a fake server; call Close when done. Its URL is the
// base URL including /v1, as in https://api.anthropic.com/v1.
func NewAnthropic() *Anthropic {
	s := &Anthropic{}
	s.start(s.serve, func(msg string) string { return anthropicErrorBody("api_error", msg, "") })
	return s
}

func (s *Anthropic) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		writeError(w, http.StatusNotFound, anthropicErrorBody("not_found_error", "Not Found", ""))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away
	}
	rec, wire, decodeErr := decodeAnthropic(r, body)
	problem := ""
	switch {
	case decodeErr != nil:
		problem = decodeErr.Error()
	default:
		problem = validateAnthropic(wire)
	}
	valid := rec.APIKey != "" && r.Header.Get("Anthropic-Version") != "" && problem == ""
	n, reply := s.record(rec, valid)
	reqID := fmt.Sprintf("req_providertest%d", n)
	w.Header().Set("Request-Id", reqID)
	switch {
	case rec.APIKey == "":
		writeError(w, http.StatusUnauthorized,
			anthropicErrorBody("authentication_error", "x-api-key header is required", reqID))
		return
	case r.Header.Get("Anthropic-Version") == "":
		writeError(w, http.StatusBadRequest,
			anthropicErrorBody("invalid_request_error", "anthropic-version: header is required", reqID))
		return
	case r.Header.Get("Anthropic-Version") != anthropicVersion:
		writeError(w, http.StatusBadRequest, anthropicErrorBody("invalid_request_error",
			fmt.Sprintf("anthropic-version: invalid version %q", r.Header.Get("Anthropic-Version")), reqID))
		return
	case problem != "":
		writeError(w, http.StatusBadRequest, anthropicErrorBody("invalid_request_error", problem, reqID))
		return
	}

	msgID := fmt.Sprintf("msg_providertest%d", n)
	s.answer(w, r, reply, func(w http.ResponseWriter) {
		if rec.Stream {
			writeAnthropicStream(w, rec, reply, msgID)
		} else {
			writeAnthropicJSON(w, rec, reply, msgID)
		}
	})
}
