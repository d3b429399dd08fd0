package stream

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func streamFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "dingtalktest", "testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func frameTestStream(tb testing.TB, h FrameHandler) *Client {
	tb.Helper()
	s, err := New(Config{ClientID: "id", ClientSecret: "secret", Handler: h})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestHandleFrameFixtures(t *testing.T) {
	var seen []*Frame
	s := frameTestStream(t, func(f *Frame) int { seen = append(seen, f); return AckOK })
	tests := []struct {
		fixture        string
		wantAck        *ackFrame // nil: no ack
		wantDisconnect bool
		wantHandled    bool
	}{
		{fixture: "stream-system-ping.json", wantAck: &ackFrame{Code: 200, Message: "OK", Data: `{"opaque" : "123-dsfs"}`,
			Headers: map[string]string{"messageId": "213d841d_972_1898bb26334_70a7", "contentType": "application/json"}}},
		{fixture: "stream-system-disconnect.json", wantDisconnect: true},
		{fixture: "stream-callback-frame.json", wantHandled: true, wantAck: &ackFrame{Code: 200, Message: "OK", Data: `{"response":null}`,
			Headers: map[string]string{"messageId": "212ca9d7_974_1898c159aa6_1783b", "contentType": "application/json"}}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			seen = nil
			res := s.handleFrame(streamFixture(t, tt.fixture))
			if res.disconnect != tt.wantDisconnect || (len(seen) == 1) != tt.wantHandled {
				t.Errorf("disconnect %v handled %d, want %v %v", res.disconnect, len(seen), tt.wantDisconnect, tt.wantHandled)
			}
			if tt.wantAck == nil {
				if res.ack != nil {
					t.Errorf("acked %s, want no ack", res.ack)
				}
				return
			}
			var got ackFrame
			if err := json.Unmarshal(res.ack, &got); err != nil {
				t.Fatalf("ack %s: %v", res.ack, err)
			}
			if got.Code != tt.wantAck.Code || got.Message != tt.wantAck.Message || got.Data != tt.wantAck.Data ||
				len(got.Headers) != 2 || got.Headers["messageId"] != tt.wantAck.Headers["messageId"] ||
				got.Headers["contentType"] != "application/json" {
				t.Errorf("ack %+v, want %+v", got, *tt.wantAck)
			}
			if tt.wantHandled && seen[0].Headers["appId"] == "" {
				t.Errorf("handler got frame without its headers: %+v", seen[0])
			}
		})
	}
}

// FuzzFrame: no input may panic the frame handling, and an ack is written
// exactly when the frame decodes and carries a messageId.
func FuzzFrame(f *testing.F) {
	for _, name := range []string{"stream-callback-frame.json", "stream-system-ping.json", "stream-system-disconnect.json"} {
		f.Add(streamFixture(f, name))
	}
	for _, seed := range []string{"", "null", "{}", "[]", `{"headers":null}`, `{"headers":{"messageId":7}}`,
		`{"type":"EVENT","headers":{"messageId":"x"},"data":{"a":1}}`, "\xff\xfe", `{"type":"SYSTEM","headers":{"topic":"ping","messageId":"p"},"data":null}`} {
		f.Add([]byte(seed))
	}
	s := frameTestStream(f, func(*Frame) int { return AckOK })
	f.Fuzz(func(t *testing.T, raw []byte) {
		res := s.handleFrame(raw)
		fr, err := decodeFrame(raw)
		wantAck := err == nil && fr.MessageID() != ""
		if (res.ack != nil) != wantAck {
			t.Fatalf("ack %q for %q, want ack=%v", res.ack, raw, wantAck)
		}
		if res.ack == nil {
			return
		}
		var a ackFrame
		if err := json.Unmarshal(res.ack, &a); err != nil {
			t.Fatalf("ack is not JSON: %v", err)
		}
		if a.Headers["messageId"] != fr.MessageID() || (a.Code != AckOK && a.Code != AckNotFound && a.Code != AckFailed) {
			t.Fatalf("ack %+v for frame %+v", a, fr)
		}
	})
}

// Header values decode the same through plainString's shortcut as
// through json.Unmarshal: the shortcut takes only what it decodes alike.
func TestJSONTextShortcut(t *testing.T) {
	for _, v := range []string{`"abc"`, `""`, `"msg-1==/+"`, `"a\"b"`, `"a\\b"`, `"\u0041"`, `"中文"`,
		`"caf` + "\xe9" + `"`, `123`, `null`, `true`, `{"a":"b"}`, `"`, `"unterminated`} {
		want := ""
		var s string
		if err := json.Unmarshal([]byte(v), &s); err == nil {
			want = s
		} else if tt := strings.TrimSpace(v); tt != "null" {
			want = tt
		}
		if got := jsonText(json.RawMessage(v)); got != want {
			t.Errorf("jsonText(%s) = %q, want %q", v, got, want)
		}
	}
}
