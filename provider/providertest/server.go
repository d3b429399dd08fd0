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

// server is what every fake shares whatever its wire format: the
// listener, the scripted replies and the record of requests. A fake
// embeds it, so its methods are the fake's.
type server struct {
	srv  *httptest.Server
	done chan struct{} // closed by Close; ends pending Delays
	// fixtureError is the protocol's 500 body saying msg, for a fixture
	// that cannot be read.
	fixtureError func(msg string) string

	mu      sync.Mutex
	queue   []Reply
	handler func(RecordedRequest) Reply
	reqs    []RecordedRequest
	changed chan struct{} // closed and replaced when reqs grows
	seq     int
	// noRecord: SetRecording(false); coalesce: SetFlushEachChunk(false).
	noRecord bool
	coalesce bool
}

// start starts listening on 127.0.0.1 with serve.
func (s *server) start(serve http.HandlerFunc, fixtureError func(msg string) string) {
	s.done = make(chan struct{})
	s.changed = make(chan struct{})
	s.fixtureError = fixtureError
	s.srv = httptest.NewServer(serve)
}

// URL is the base URL including /v1, as given to a client's BaseURL.
func (s *server) URL() string { return s.srv.URL + "/v1" }

// Close stops the server, ending pending delays.
func (s *server) Close() {
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
func (s *server) Enqueue(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, r...)
}

// SetHandler sets the responder used when the queue is empty.
func (s *server) SetHandler(h func(req RecordedRequest) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handler = h
}

// ServeFixture makes the next reply replay the file at path byte for byte
// as text/event-stream. If the file cannot be read the reply is a 500
// saying so, which fails the test that expected the fixture.
func (s *server) ServeFixture(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		s.Enqueue(Reply{Status: http.StatusInternalServerError, Body: s.fixtureError("providertest: " + err.Error())})
		return
	}
	s.Enqueue(Reply{Raw: b})
}

// SetRecording(false) stops keeping the requests that arrive from now on:
// Requests and WaitRequests no longer see them, while handlers still get
// each one. Long runs (the bench) use it so that the record does not grow
// without bound. SetRecording(true) resumes; recording is on by default.
func (s *server) SetRecording(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noRecord = !on
}

// SetFlushEachChunk(false) lets a streamed answer go out in as few writes
// as the HTTP server's buffer allows, instead of one flushed write per
// chunk as the real APIs send them; the client still gets every chunk,
// just read at once. The bench's instant model uses it so that the fake
// spends less of the machine the gateway is measured on. A CutStream reply
// then delivers none of its content. On by default.
func (s *server) SetFlushEachChunk(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.coalesce = !on
}

// Requests returns the requests received so far, including refused ones.
func (s *server) Requests() []RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// WaitRequests waits until at least n requests have arrived.
func (s *server) WaitRequests(ctx context.Context, n int) ([]RecordedRequest, error) {
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

// record stores rec and, for a valid request, takes its reply; n numbers
// the request from 1. The handler runs outside the lock so a test's
// handler may block one request (a slow model) while others are served.
func (s *server) record(rec RecordedRequest, valid bool) (n int, reply Reply) {
	s.mu.Lock()
	if !s.noRecord {
		s.reqs = append(s.reqs, rec)
		close(s.changed)
		s.changed = make(chan struct{})
	}
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

// answer writes reply after its Delay: an error or Raw reply as scripted,
// any other through render, in the fake's wire format. Nothing is written
// if the request or the server ends during the delay.
func (s *server) answer(w http.ResponseWriter, r *http.Request, reply Reply, render func(http.ResponseWriter)) {
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
	default:
		s.mu.Lock()
		coalesce := s.coalesce
		s.mu.Unlock()
		if coalesce {
			w = unflushed{w} // the SSE writers flush only an http.Flusher
		}
		render(w)
	}
}

// unflushed hides the http.Flusher of a ResponseWriter.
type unflushed struct{ http.ResponseWriter }

// writeError writes a JSON error body.
func writeError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
