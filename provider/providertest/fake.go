package providertest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// OpenAI is a fake OpenAI-compatible Chat Completions server on
// 127.0.0.1. It answers POST {URL}/chat/completions with scripted replies
// (Enqueue, ServeFixture), else with its handler (SetHandler), else by
// echoing the last user message. It validates requests as the real API
// does. Safe for concurrent use.
type OpenAI struct {
	server
	tools toolsCache
}

// NewOpenAI starts a fake server; call Close when done.
func NewOpenAI() *OpenAI {
	s := &OpenAI{}
	s.start(s.serve, func(msg string) string { return errorBody(msg, "server_error", "", "") })
	return s
}

func (s *OpenAI) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		writeError(w, http.StatusNotFound, errorBody(
			fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path), "invalid_request_error", "", ""))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the client went away
	}
	rec, decodeErr := decodeOpenAI(r, body, &s.tools)
	n, reply := s.record(rec, decodeErr == nil && rec.APIKey != "" && validate(rec) == "")
	id, created := fmt.Sprintf("chatcmpl-providertest%d", n), time.Now().Unix()
	switch {
	case decodeErr != nil:
		writeError(w, http.StatusBadRequest, errorBody(
			"We could not parse the JSON body of your request. ("+decodeErr.Error()+")", "invalid_request_error", "", ""))
		return
	case rec.APIKey == "":
		writeError(w, http.StatusUnauthorized, errorBody(
			"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
			"invalid_request_error", "", ""))
		return
	}
	if msg := validate(rec); msg != "" {
		writeError(w, http.StatusBadRequest, errorBody(msg, "invalid_request_error", "", ""))
		return
	}

	s.answer(w, r, reply, func(w http.ResponseWriter) {
		if rec.Stream {
			writeStream(w, rec, reply, id, created, r.Context().Done())
		} else {
			writeJSON(w, rec, reply, id, created)
		}
	})
}

// validate checks what the real API checks; it returns OpenAI's message
// for the first problem, or "".
func validate(rec RecordedRequest) string {
	if rec.Model == "" {
		return "you must provide a model parameter"
	}
	if len(rec.Messages) == 0 {
		return "[] is too short - 'messages'"
	}
	if rec.IncludeUsage && !rec.Stream {
		return "The 'stream_options' parameter is only allowed when 'stream' is enabled."
	}
	// Every tool call must be answered by the tool messages right after
	// it, and every tool message must answer a call.
	var pending []string
	for i, m := range rec.Messages {
		if m.Role == "tool" {
			j := slices.Index(pending, m.ToolCallID)
			if j < 0 {
				return fmt.Sprintf("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'. (messages.[%d].tool_call_id %q)", i, m.ToolCallID)
			}
			pending = slices.Delete(pending, j, j+1)
			continue
		}
		if len(pending) > 0 {
			return unanswered(pending)
		}
		for _, tc := range m.ToolCalls {
			if !json.Valid(tc.Arguments) {
				return fmt.Sprintf("Invalid 'messages[%d].tool_calls.function.arguments': not valid JSON.", i)
			}
			pending = append(pending, tc.ID)
		}
	}
	if len(pending) > 0 {
		return unanswered(pending)
	}
	return ""
}

func unanswered(ids []string) string {
	return "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: " + strings.Join(ids, ", ")
}
