package providertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"time"
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
	srv  *httptest.Server
	done chan struct{} // closed by Close; ends pending Delays

	mu      sync.Mutex
	queue   []Reply
	handler func(RecordedRequest) Reply
	reqs    []RecordedRequest
	changed chan struct{} // closed and replaced when reqs grows
	seq     int
}

// NewAnthropic starts a fake server; call Close when done.
func NewAnthropic() *Anthropic {
	s := &Anthropic{done: make(chan struct{}), changed: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL including /v1, as in https://api.anthropic.com/v1.
func (s *Anthropic) URL() string { return s.srv.URL + "/v1" }

// Close stops the server, ending pending delays.
func (s *Anthropic) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	s.mu.Unlock()
	s.srv.Close()
}

// Enqueue adds replies for the next valid requests, first in, first out.
func (s *Anthropic) Enqueue(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, r...)
}

// SetHandler sets the responder used when the queue is empty.
func (s *Anthropic) SetHandler(h func(req RecordedRequest) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// ServeFixture makes the next reply replay the file at path byte for byte
// as text/event-stream. If the file cannot be read the reply is a 500
// saying so, which fails the test that expected the fixture.
func (s *Anthropic) ServeFixture(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		s.Enqueue(Reply{Status: http.StatusInternalServerError,
			Body: anthropicErrorBody("api_error", "providertest: "+err.Error(), "")})
		return
	}
	s.Enqueue(Reply{Raw: b})
}

// Requests returns the requests received so far, including refused ones.
func (s *Anthropic) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// WaitRequests waits until at least n requests have arrived.
func (s *Anthropic) WaitRequests(ctx context.Context, n int) ([]RecordedRequest, error) {
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

func (s *Anthropic) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		writeAnthropicError(w, http.StatusNotFound, anthropicErrorBody("not_found_error", "Not Found", ""))
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
		writeAnthropicError(w, http.StatusUnauthorized,
			anthropicErrorBody("authentication_error", "x-api-key header is required", reqID))
		return
	case r.Header.Get("Anthropic-Version") == "":
		writeAnthropicError(w, http.StatusBadRequest,
			anthropicErrorBody("invalid_request_error", "anthropic-version: header is required", reqID))
		return
	case r.Header.Get("Anthropic-Version") != anthropicVersion:
		writeAnthropicError(w, http.StatusBadRequest, anthropicErrorBody("invalid_request_error",
			fmt.Sprintf("anthropic-version: invalid version %q", r.Header.Get("Anthropic-Version")), reqID))
		return
	case problem != "":
		writeAnthropicError(w, http.StatusBadRequest, anthropicErrorBody("invalid_request_error", problem, reqID))
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
	msgID := fmt.Sprintf("msg_providertest%d", n)
	switch {
	case reply.Status >= 400:
		writeAnthropicError(w, reply.Status, reply.Body)
	case reply.Raw != nil:
		w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
		_, _ = w.Write(reply.Raw)
	case rec.Stream:
		writeAnthropicStream(w, rec, reply, msgID)
	default:
		writeAnthropicJSON(w, rec, reply, msgID)
	}
}

// record stores rec and, for a valid request, takes its reply; n numbers
// the request from 1. The handler runs outside the lock so a test's
// handler may block one request (a slow model) while others are served.
func (s *Anthropic) record(rec RecordedRequest, valid bool) (n int, reply Reply) {
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	close(s.changed)
	s.changed = make(chan struct{})
	s.seq++
	n = s.seq
	if !valid {
		s.mu.Unlock()
		return n, Reply{}
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
	return n, reply
}

func writeAnthropicError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
