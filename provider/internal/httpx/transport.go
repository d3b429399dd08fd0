package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// ErrBody marks a failure to rewrite a request body: a bug or a bad
// extra body value, not something a retry fixes.
var ErrBody = errors.New("request body")

// CheckExtra reports a value of extra that cannot be encoded as JSON, so
// that a bad configuration fails when a provider is made, not per request.
func CheckExtra(extra map[string]any) error {
	for k, v := range extra {
		if _, err := json.Marshal(v); err != nil {
			return fmt.Errorf("extra body key %q: %w", k, err)
		}
	}
	return nil
}

// Transport wraps a RoundTripper for one attempt. The SDKs serialise a
// fixed request struct and take only an HTTP client, so vendor body keys
// (Extra) and extra headers are added here. It also remembers the
// answer's status and header: the SDKs drop both from their errors, and
// they decide the error kind and Retry-After.
type Transport struct {
	Base    http.RoundTripper // nil → http.DefaultTransport
	Extra   map[string]any    // merged into the JSON body; they win
	Headers map[string]string // set on every request
	// OmitEmpty names headers removed when empty once Headers are set:
	// with no key configured, send no key header rather than an empty one.
	OmitEmpty []string

	mu     sync.Mutex
	status int
	header http.Header
}

// Client returns a client like hc (its redirect policy, cookie jar and
// timeout) that sends through t, and makes hc's transport t's Base.
func (t *Transport) Client(hc *http.Client) *http.Client {
	t.Base = hc.Transport
	return &http.Client{Transport: t, CheckRedirect: hc.CheckRedirect, Jar: hc.Jar, Timeout: hc.Timeout}
}

// RoundTrip sends a copy of req with the body and headers rewritten.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	if len(t.Extra) > 0 && req.Body != nil {
		if err := mergeBody(out, t.Extra); err != nil { // mergeBody closed the body
			return nil, fmt.Errorf("%w: %w", ErrBody, err)
		}
	}
	for k, v := range t.Headers {
		out.Header.Set(k, v)
	}
	for _, k := range t.OmitEmpty {
		if out.Header.Get(k) == "" {
			out.Header.Del(k)
		}
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(out)
	if resp != nil {
		t.mu.Lock()
		t.status, t.header = resp.StatusCode, resp.Header
		t.mu.Unlock()
	}
	return resp, err
}

// Answer returns the status and header of the last answer (0, nil if
// none came).
func (t *Transport) Answer() (int, http.Header) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status, t.header
}

// mergeBody decodes the request body as a JSON object, sets extra's keys
// (they win over the SDK's) and replaces the body.
func mergeBody(req *http.Request, extra map[string]any) error {
	raw, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	for k, v := range extra {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode extra body key %q: %w", k, err)
		}
		body[k] = b
	}
	merged, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode request body: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(merged))
	req.ContentLength = int64(len(merged))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(merged)), nil }
	return nil
}
