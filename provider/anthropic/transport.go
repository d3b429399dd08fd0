package anthropic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// errBody marks a failure to rewrite the request body: a bug or a bad
// ExtraBody value, not something a retry fixes.
var errBody = errors.New("request body")

// transport wraps the caller's RoundTripper for one attempt. go-anthropic
// v2.17.0 serialises a fixed MessagesRequest and takes only an
// *http.Client, so vendor body keys and extra headers are added here. It
// also remembers the answer's status and header: go-anthropic drops both
// from its errors, and they decide the error kind and Retry-After.
type transport struct {
	base    http.RoundTripper // nil → http.DefaultTransport
	extra   map[string]any
	headers map[string]string

	mu     sync.Mutex
	status int
	header http.Header
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	if len(t.extra) > 0 && req.Body != nil {
		if err := t.mergeBody(out); err != nil { // mergeBody closed the body
			return nil, fmt.Errorf("%w: %w", errBody, err)
		}
	}
	for k, v := range t.headers {
		out.Header.Set(k, v)
	}
	if out.Header.Get("X-Api-Key") == "" {
		out.Header.Del("X-Api-Key") // no key configured: send none rather than an empty one
	}
	base := t.base
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

// answer returns the status and header of the last answer (0, nil if
// none came).
func (t *transport) answer() (int, http.Header) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.status, t.header
}

// mergeBody decodes the request body as a JSON object, sets extra's keys
// (they win over go-anthropic's) and replaces the body.
func (t *transport) mergeBody(req *http.Request) error {
	raw, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	for k, v := range t.extra {
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
