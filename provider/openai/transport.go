package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// errBody marks a failure to rewrite the request body: a bug or a bad
// ExtraBody value, not something a retry fixes.
var errBody = errors.New("request body")

// doer wraps the caller's *http.Client for one attempt. go-openai v1.43.0
// serialises a fixed ChatCompletionRequest struct: it has no hook for
// vendor fields (enable_thinking, top_k, …) nor for extra headers, and its
// Temperature is a float32 with omitempty, so 0 cannot be sent. doer merges
// extra keys into the JSON body and sets headers, and it remembers the
// response header so that a 429's Retry-After survives go-openai's error
// handling, which drops headers.
type doer struct {
	client  *http.Client
	extra   map[string]any
	headers map[string]string

	header http.Header // of the response; set by Do
	status int
}

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	if len(d.extra) > 0 && req.Body != nil {
		if err := d.mergeBody(req); err != nil {
			return nil, fmt.Errorf("%w: %w", errBody, err)
		}
	}
	for k, v := range d.headers {
		req.Header.Set(k, v)
	}
	resp, err := d.client.Do(req)
	if resp != nil {
		d.header = resp.Header
		d.status = resp.StatusCode
	}
	return resp, err
}

// mergeBody decodes the request body as a JSON object, sets extra's keys
// (they win over go-openai's) and replaces the body.
func (d *doer) mergeBody(req *http.Request) error {
	raw, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return fmt.Errorf("read request body: %w", err)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return fmt.Errorf("decode request body: %w", err)
	}
	for k, v := range d.extra {
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
