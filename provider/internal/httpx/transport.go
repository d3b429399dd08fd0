package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
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
// (Extra), extra headers and the parts of the body picoclaw encodes
// itself, once per change or faster than the SDK (Append, Set), are added
// here. It also remembers the
// answer's status and header: the SDKs drop both from their errors, and
// they decide the error kind and Retry-After.
type Transport struct {
	Base http.RoundTripper // nil → http.DefaultTransport
	// Append are top-level keys added to the JSON body as they are, which
	// spares parsing the body: keys the SDK was given nothing for and so
	// leaves out (go-anthropic's omitted tools).
	Append []Field
	// Set are top-level keys that replace the SDK's own (go-openai writes
	// "messages":null when given none). The SDK's body is parsed for that,
	// its top level only: meant for the small body of an SDK that was
	// given the bulk of the request as Set fields.
	Set     []Field
	Extra   map[string]any    // merged into the JSON body last; they win
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
	if (len(t.Append) > 0 || len(t.Set) > 0 || len(t.Extra) > 0) && req.Body != nil {
		if err := t.rewriteBody(out); err != nil { // it closed the body
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

// Field is a top-level JSON body key and its encoded value.
type Field struct {
	Key   string          // a plain ASCII name: "tools"
	Value json.RawMessage // valid JSON, written as it is
}

// rewriteBody adds t's fields and extra keys to the request's JSON object
// body and replaces the body.
func (t *Transport) rewriteBody(req *http.Request) error {
	raw, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	if len(t.Set) > 0 || len(t.Extra) > 0 {
		raw, err = mergeFields(raw, append(slices.Clip(t.Set), t.Append...), t.Extra)
	} else {
		raw, err = appendFields(raw, t.Append)
	}
	if err != nil {
		return err
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	req.ContentLength = int64(len(raw))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
	return nil
}

// appendFields writes fields before the closing brace of the JSON object
// raw.
func appendFields(raw []byte, fields []Field) ([]byte, error) {
	body := bytes.TrimRight(raw, " \t\r\n")
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return nil, errors.New("add to request body: not a JSON object")
	}
	size := len(body)
	for _, f := range fields {
		size += len(f.Key) + len(f.Value) + 4
	}
	out := make([]byte, 0, size)
	out = append(out, body[:len(body)-1]...)
	empty := len(bytes.TrimSpace(body[1:len(body)-1])) == 0
	for _, f := range fields {
		if !empty {
			out = append(out, ',')
		}
		empty = false
		out = strconv.AppendQuote(out, f.Key)
		out = append(out, ':')
		out = append(out, f.Value...)
	}
	return append(out, '}'), nil
}

// mergeFields decodes the top level of the JSON object raw, sets fields
// and then extra's keys (they win over the SDK's and the fields), and
// writes the object again. Values are written as they are, not encoded
// again: the SDK's come from its encoder, fields are valid JSON and
// extra's are encoded here.
func mergeFields(raw []byte, fields []Field, extra map[string]any) ([]byte, error) {
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("decode request body: %w", err)
	}
	if body == nil {
		return nil, errors.New("decode request body: not a JSON object")
	}
	for _, f := range fields {
		body[f.Key] = f.Value
	}
	for k, v := range extra {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode extra body key %q: %w", k, err)
		}
		body[k] = b
	}
	size := 2
	for k, v := range body {
		size += len(k) + len(v) + 4
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	for i, k := range slices.Sorted(maps.Keys(body)) {
		if i > 0 {
			out = append(out, ',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("encode body key %q: %w", k, err)
		}
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, body[k]...)
	}
	return append(out, '}'), nil
}
