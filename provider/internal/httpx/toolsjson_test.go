package httpx

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"picoclaw"
)

func TestToolsJSONEncodesOncePerChange(t *testing.T) {
	calls := 0
	c := NewToolsJSON(func(defs []picoclaw.ToolDef) ([]byte, error) {
		calls++
		return json.Marshal(defs)
	})
	defs := []picoclaw.ToolDef{
		{Name: "read_file", Description: "Read.", Parameters: json.RawMessage(`{"type":"object"}`)},
		{Name: "exec", Description: "Run."},
	}
	first, err := c.Get(defs)
	if err != nil {
		t.Fatal(err)
	}
	// A new slice with equal contents, as the agent builds every turn.
	again := []picoclaw.ToolDef{defs[0], defs[1]}
	again[0].Parameters = json.RawMessage(`{"type":"object"}`)
	if got, _ := c.Get(again); string(got) != string(first) || calls != 1 {
		t.Fatalf("equal list: encoded %d times, got %s; want once, %s", calls, got, first)
	}

	// The caller changing its schema bytes in place is a change, not
	// something the cache sees through.
	defs[0].Parameters[2] = 'T'
	if got, _ := c.Get(defs); calls != 2 || !strings.Contains(string(got), `"Type"`) {
		t.Fatalf("changed schema: encoded %d times, got %s; want a second encoding with the new schema", calls, got)
	}
	if got, _ := c.Get(defs[:1]); calls != 3 || strings.Contains(string(got), "exec") {
		t.Fatalf("shorter list: encoded %d times, got %s; want a third encoding without exec", calls, got)
	}
}

func TestToolsJSONError(t *testing.T) {
	boom := errors.New("boom")
	c := NewToolsJSON(func([]picoclaw.ToolDef) ([]byte, error) { return nil, boom })
	if _, err := c.Get([]picoclaw.ToolDef{{Name: "x"}}); !errors.Is(err, boom) {
		t.Fatalf("Get = %v, want the encoder's error", err)
	}
}

func TestTransportAppendsFields(t *testing.T) {
	url, got := echoServer(t)
	rt := &Transport{
		Append: []Field{{Key: "tools", Value: json.RawMessage(`[{"name":"x"}]`)}, {Key: "temperature", Value: json.RawMessage(`0`)}},
		Extra:  map[string]any{"temperature": 0.5},
	}
	for _, body := range []string{`{"model":"m"}`, "{ }\n"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rt.Client(&http.Client{}).Do(req)
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		resp.Body.Close()
		s := <-got
		if string(s.body["tools"]) != `[{"name":"x"}]` || string(s.body["temperature"]) != "0.5" {
			t.Errorf("body %q sent as %s; want the tools added and the extra temperature winning", body, s.body)
		}
	}
}

func TestTransportSetReplacesSDKKeys(t *testing.T) {
	url, got := echoServer(t)
	rt := &Transport{
		Set:    []Field{{Key: "messages", Value: json.RawMessage(`[{"role":"user","content":"hi"}]`)}, {Key: "top_k", Value: json.RawMessage(`1`)}},
		Append: []Field{{Key: "tools", Value: json.RawMessage(`[]`)}},
		Extra:  map[string]any{"top_k": 5},
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url,
		strings.NewReader(`{"model":"m","messages":null,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.Client(&http.Client{}).Do(req)
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	resp.Body.Close()
	s := <-got
	want := map[string]string{"model": `"m"`, "messages": `[{"role":"user","content":"hi"}]`, "stream": "true", "tools": "[]", "top_k": "5"}
	if len(s.body) != len(want) {
		t.Errorf("body = %s, want %v", s.body, want)
	}
	for k, v := range want {
		if string(s.body[k]) != v {
			t.Errorf("body key %s = %s, want %s", k, s.body[k], v)
		}
	}
	if n := strings.Count(string(s.raw), `"messages"`); n != 1 {
		t.Errorf("body %s has %d messages keys, want 1", s.raw, n)
	}
}
