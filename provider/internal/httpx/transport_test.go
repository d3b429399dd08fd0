package httpx

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// seen is what the test server received.
type seen struct {
	header http.Header
	raw    []byte
	body   map[string]json.RawMessage
}

// echoServer answers 429 with Retry-After and records each request.
func echoServer(t *testing.T) (url string, got <-chan seen) {
	t.Helper()
	ch := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var s seen
		s.header = r.Header.Clone()
		b, _ := io.ReadAll(r.Body)
		s.raw = b
		_ = json.Unmarshal(b, &s.body)
		ch <- s
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

func TestTransport(t *testing.T) {
	url, got := echoServer(t)
	rt := &Transport{
		Extra:     map[string]any{"top_k": 20, "model": "from-extra", "opts": map[string]any{"thinking": true}},
		Headers:   map[string]string{"X-Title": "picoclaw", "X-Empty": ""},
		OmitEmpty: []string{"X-Empty", "X-Api-Key"},
	}
	hc := rt.Client(&http.Client{})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(`{"model":"m","stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", "sk-set")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	resp.Body.Close()
	s := <-got

	want := map[string]string{"model": `"from-extra"`, "stream": "true", "top_k": "20", "opts": `{"thinking":true}`}
	if len(s.body) != len(want) {
		t.Errorf("body = %s, want %v", s.body, want)
	}
	for k, v := range want {
		if string(s.body[k]) != v {
			t.Errorf("body key %s = %s, want %s", k, s.body[k], v)
		}
	}
	if s.header.Get("X-Title") != "picoclaw" || s.header.Get("X-Api-Key") != "sk-set" {
		t.Errorf("headers = %v, want X-Title and the key kept", s.header)
	}
	if _, ok := s.header["X-Empty"]; ok {
		t.Errorf("empty header X-Empty was sent")
	}
	if req.Header.Get("X-Title") != "" {
		t.Error("the caller's request was modified")
	}
	status, header := rt.Answer()
	if status != http.StatusTooManyRequests || header.Get("Retry-After") != "7" {
		t.Errorf("Answer = %d, %v; want 429 with Retry-After", status, header)
	}
}

func TestTransportOmitsEmptyKey(t *testing.T) {
	url, got := echoServer(t)
	rt := &Transport{OmitEmpty: []string{"X-Api-Key"}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", "")
	resp, err := rt.Client(&http.Client{}).Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	resp.Body.Close()
	if _, ok := (<-got).header["X-Api-Key"]; ok {
		t.Error("an empty X-Api-Key was sent")
	}
}

func TestTransportBadBody(t *testing.T) {
	rt := &Transport{Extra: map[string]any{"k": 1}, Base: roundTripFunc(func(*http.Request) (*http.Response, error) {
		t.Error("a request with an unmergeable body was sent")
		return nil, errors.New("not reached")
	})}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://127.0.0.1:1/", strings.NewReader(`[1,2]`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rt.RoundTrip(req); !errors.Is(err, ErrBody) {
		t.Errorf("RoundTrip = %v, want ErrBody", err)
	}
	if status, header := rt.Answer(); status != 0 || header != nil {
		t.Errorf("Answer = %d, %v; want none", status, header)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestCheckExtra(t *testing.T) {
	if err := CheckExtra(map[string]any{"top_k": 20, "opts": map[string]any{"a": []int{1}}}); err != nil {
		t.Errorf("CheckExtra(valid) = %v", err)
	}
	if err := CheckExtra(map[string]any{"bad": make(chan int)}); err == nil || !strings.Contains(err.Error(), `extra body key "bad"`) {
		t.Errorf("CheckExtra(chan) = %v, want an error naming the key", err)
	}
}
