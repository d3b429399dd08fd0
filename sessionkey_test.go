package picoclaw

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseSessionKey(t *testing.T) {
	tests := []struct {
		in      string
		channel string
		chat    Peer
		err     string // part of the error; "" for none
	}{
		{in: "dingtalk:direct:0123", channel: "dingtalk", chat: Peer{Kind: ChatDirect, ID: "0123"}},
		{in: " dingtalk:group:cid:a== ", channel: "dingtalk", chat: Peer{Kind: ChatGroup, ID: "cid:a=="}},
		{in: "dingtalk:direct:ManagerAbC", channel: "dingtalk", chat: Peer{Kind: ChatDirect, ID: "ManagerAbC"}},
		{in: "dingtalk:team:1", err: `chat kind "team"`},
		{in: "dingtalk::1", err: `chat kind ""`},
		{in: "dingtalk:direct:", err: "expected"},
		{in: ":direct:1", err: "expected"},
		{in: "0123", err: `"0123": expected "<channel>:direct:<user id>"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ch, chat, err := ParseSessionKey(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSessionKey = %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil || ch != tt.channel || chat != tt.chat {
				t.Fatalf("ParseSessionKey = %q, %+v, %v; want %q, %+v", ch, chat, err, tt.channel, tt.chat)
			}
			if back := NewSessionKey(ch, chat); string(back) != strings.TrimSpace(tt.in) {
				t.Errorf("NewSessionKey(ParseSessionKey(%q)) = %q", tt.in, back)
			}
		})
	}
}

func TestChatKindText(t *testing.T) {
	type doc struct {
		Kind ChatKind `json:"kind"`
	}
	for _, k := range []ChatKind{ChatDirect, ChatGroup, 0} {
		raw, err := json.Marshal(doc{k})
		if err != nil {
			t.Fatal(err)
		}
		var back doc
		if err := json.Unmarshal(raw, &back); err != nil || back.Kind != k {
			t.Errorf("%v → %s → %v, %v", k, raw, back.Kind, err)
		}
	}
	if raw, _ := json.Marshal(doc{ChatGroup}); string(raw) != `{"kind":"group"}` {
		t.Errorf("group encodes as %s", raw)
	}
	if _, err := json.Marshal(doc{ChatKind(7)}); err == nil {
		t.Error("kind 7 encoded, want an error")
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"kind":"team"}`), &d); err == nil || !strings.Contains(err.Error(), `"direct" or "group"`) {
		t.Errorf("unmarshal team = %v, want an error naming the expected words", err)
	}
}
