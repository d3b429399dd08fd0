package providertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// OpenAI is a fake OpenAI-compatible Chat Completions server on
// 127.0.0.1. It answers POST {URL}/chat/completions with scripted replies
// (Enqueue, ServeFixture), else with its handler (SetHandler), else by
// echoing the last user message. It validates requests as the real API
// does. Safe for concurrent use.
type OpenAI struct {
	srv  *httptest.Server
	done chan struct{} // closed by Close; ends pending Delays

	mu      sync.Mutex
	queue   []Reply
	handler func(RecordedRequest) Reply
	reqs    []RecordedRequest
	changed chan struct{} // closed and replaced when reqs grows
	seq     int
}

// NewOpenAI starts a fake server; call Close when done.
func NewOpenAI() *OpenAI {
	s := &OpenAI{done: make(chan struct{}), changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL including /v1, as given to a client's BaseURL.
func (s *OpenAI) URL() string { return s.srv.URL + "/v1" }

// Close stops the server, ending pending delays.
func (s *OpenAI) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.mu.Unlock()
	s.srv.Close()
}

// Enqueue adds replies for the next requests, first in, first out.
func (s *OpenAI) Enqueue(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, r...)
}

// SetHandler sets the responder used when the queue is empty.
func (s *OpenAI) SetHandler(h func(req RecordedRequest) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// ServeFixture makes the next reply replay the file at path byte for byte
// as text/event-stream. If the file cannot be read the reply is a 500
// saying so, which fails the test that expected the fixture.
func (s *OpenAI) ServeFixture(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		s.Enqueue(Reply{Status: http.StatusInternalServerError,
			Body: errorBody("providertest: "+err.Error(), "server_error", "", "")})
		return
	}
	s.Enqueue(Reply{Raw: b})
}

// Requests returns the requests received so far, including refused ones.
func (s *OpenAI) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// WaitRequests waits until at least n requests have arrived.
func (s *OpenAI) WaitRequests(ctx context.Context, n int) ([]RecordedRequest, error) {
	for {
		s.mu.Lock()
		if len(s.reqs) >= n {
			out := slices.Clone(s.reqs)
			s.mu.Unlock()
			return out, nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("providertest: wait for %d requests: %w", n, ctx.Err())
		}
	}
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
	rec, decodeErr := decodeOpenAI(r, body)
	id, created, reply := s.record(rec, decodeErr == nil && validate(rec) == "")
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

	if reply.Delay > 0 {
		t := time.NewTimer(reply.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
	for k, v := range reply.Header {
		w.Header().Set(k, v)
	}
	switch {
	case reply.Status >= 400:
		writeError(w, reply.Status, reply.Body)
	case reply.Raw != nil:
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		_, _ = w.Write(reply.Raw)
	case rec.Stream:
		writeStream(w, rec, reply, id, created)
	default:
		writeJSON(w, rec, reply, id, created)
	}
}

// record stores rec and, for a valid request, takes its reply. The handler
// runs outside the lock so a test's handler may block one request (a slow
// model) while others are served.
func (s *OpenAI) record(rec RecordedRequest, valid bool) (id string, created int64, reply Reply) {
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	close(s.changed)
	s.changed = make(chan struct{})
	s.seq++
	id = fmt.Sprintf("chatcmpl-providertest%d", s.seq)
	created = time.Now().Unix()
	if !valid || rec.APIKey == "" {
		s.mu.Unlock()
		return id, created, Reply{}
	}
	var handler func(RecordedRequest) Reply
	switch {
	case len(s.queue) > 0:
		reply = s.queue[0]
		s.queue = s.queue[1:]
	case s.handler != nil:
		handler = s.handler
	default:
		reply = Reply{Content: rec.LastUser()}
	}
	s.mu.Unlock()
	if handler != nil {
		reply = handler(rec)
	}
	return id, created, reply
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

func writeError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
