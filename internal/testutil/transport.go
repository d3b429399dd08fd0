package testutil

import (
	"net/http"
	"net/http/httptest"
)

// HandlerTransport is an http.RoundTripper that serves each request by
// calling h in the caller's goroutine, with no socket in between. Inside
// a testing/synctest bubble a goroutine blocked on a loopback socket is
// not durably blocked, so fake time could never advance; through this
// transport the client and the fake block only on what synctest sees.
//
// The handler gets the client's context: a client timeout or a cancelled
// request ends a handler that waits on r.Context(). The whole answer is
// buffered, which suits request/response APIs, not streams.
func HandlerTransport(h http.Handler) http.RoundTripper { return handlerTransport{h} }

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		defer r.Body.Close()
	}
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	sr := r.Clone(r.Context())
	sr.RequestURI = r.URL.RequestURI()
	sr.RemoteAddr = "127.0.0.1:1"
	if sr.Host == "" {
		sr.Host = r.URL.Host
	}
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, sr)
	// A handler that gave up because the request ended wrote nothing the
	// client would have seen.
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}
