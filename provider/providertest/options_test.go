package providertest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The one-pass decode (no unknown keys) and the long way (any unknown key,
// at any depth) must read a body alike.
func TestDecodeOpenAIPathsAgree(t *testing.T) {
	const plain = `{"model":"m","max_completion_tokens":9,"temperature":0,"stream":true,"stream_options":{"include_usage":true},
	"tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}}],
	"messages":[{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:,"}}]},
	{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
	{"role":"tool","tool_call_id":"c1","content":"done"}]}`
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	want, err := decodeOpenAI(r, []byte(plain), nil)
	if err != nil || want.Extra != nil {
		t.Fatalf("plain body: extra %v, err %v", want.Extra, err)
	}
	tests := []struct {
		name, body string
		extra      []string
	}{
		{"unknown top-level key", strings.Replace(plain, `"model":"m"`, `"model":"m","top_k":3`, 1), []string{"top_k"}},
		{"unknown key in a message", strings.Replace(plain, `"role":"tool",`, `"role":"tool","refusal":null,`, 1), nil},
		{"trailing space", plain + " \n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeOpenAI(r, []byte(tt.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for k := range got.Extra {
				keys = append(keys, k)
			}
			if !slices.Equal(keys, tt.extra) {
				t.Errorf("extra keys %v, want %v", keys, tt.extra)
			}
			got.Extra, got.Body = nil, want.Body
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
			}
		})
	}
	for _, bad := range []string{plain + `{}`, `[` + plain + `]`, `{"model":`} {
		if _, err := decodeOpenAI(r, []byte(bad), nil); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
			t.Errorf("decode %.20q…: err %v, want not a JSON object", bad, err)
		}
	}
}

func TestSetFlushEachChunkOffSendsTheSameStream(t *testing.T) {
	read := func(flushEach bool) []string {
		s := newFake(t)
		s.SetFlushEachChunk(flushEach)
		s.Enqueue(Reply{Content: "Hello, world! A longer answer in many chunks.", ChunkSize: 4})
		evs := events(t, post(t, s, "Bearer k", streamBody).Body)
		for i, ev := range evs {
			// Only "created" may differ between the two answers.
			if j := strings.Index(ev, `"created":`); j >= 0 {
				k := j + strings.IndexByte(ev[j:], ',')
				evs[i] = ev[:j] + ev[k:]
			}
		}
		return evs
	}
	flushed, coalesced := read(true), read(false)
	if len(flushed) < 10 || !slices.Equal(flushed, coalesced) {
		t.Errorf("coalesced stream differs:\n%q\nwant\n%q", coalesced, flushed)
	}
}

func TestSetRecordingOff(t *testing.T) {
	s := newFake(t)
	post(t, s, "Bearer k", streamBody)
	s.SetRecording(false)
	var handled int
	s.SetHandler(func(r RecordedRequest) Reply { handled++; return Reply{Content: r.LastUser()} })
	post(t, s, "Bearer k", streamBody)
	if n := len(s.Requests()); n != 1 || handled != 1 {
		t.Errorf("%d recorded, %d handled; want the first only recorded, the second handled", n, handled)
	}
	s.SetRecording(true)
	post(t, s, "Bearer k", streamBody)
	if n := len(s.Requests()); n != 2 {
		t.Errorf("%d recorded after turning recording back on, want 2", n)
	}
}

func TestDecodeOpenAIToolsCache(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
	body := func(desc string) []byte {
		return []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],
		"tools":[{"type":"function","function":{"name":"f","description":"` + desc + `","parameters":{"type":"object"}}}]}`)
	}
	var cache toolsCache
	first, err := decodeOpenAI(r, body("one"), &cache)
	if err != nil {
		t.Fatal(err)
	}
	first.Tools[0].Parameters[2] = 'X' // a caller's change reaches no other request
	again, err := decodeOpenAI(r, body("one"), &cache)
	if err != nil || len(again.Tools) != 1 || string(again.Tools[0].Parameters) != `{"type":"object"}` {
		t.Fatalf("cached tools %+v, %v", again.Tools, err)
	}
	other, err := decodeOpenAI(r, body("two"), &cache)
	if err != nil || len(other.Tools) != 1 || other.Tools[0].Description != "two" {
		t.Errorf("changed tools decoded as %+v, %v", other.Tools, err)
	}
	none, err := decodeOpenAI(r, []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`), &cache)
	if err != nil || none.Tools != nil {
		t.Errorf("request without tools got %+v, %v", none.Tools, err)
	}
}

func TestObjEncoding(t *testing.T) {
	v := obj{{"id", "x<&>"}, {"n", 3}, {"null", nil}, {"list", []any{obj{{"a", true}}, "s", []any{}}},
		{"nil list", []any(nil)}, {"empty", obj{}}, {"f", 0.5}}
	const want = `{"id":"x\u003c\u0026\u003e","n":3,"null":null,"list":[{"a":true},"s",[]],"nil list":null,"empty":{},"f":0.5}`
	got, err := appendValue(nil, v)
	if err != nil || string(got) != want {
		t.Errorf("appendValue = %s, %v\nwant %s", got, err, want)
	}
	if std, err := json.Marshal(v); err != nil || string(std) != want {
		t.Errorf("json.Marshal = %s, %v", std, err)
	}
}
