package tools

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"picoclaw"
)

func TestMessageTool(t *testing.T) {
	tests := []struct {
		name    string
		args    map[string]any
		want    picoclaw.Outbound
		wantErr string
	}{
		{name: "direct key", args: map[string]any{"content": "hi", "chat_id": "dingtalk:direct:0123Ab"},
			want: picoclaw.Outbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123Ab"}, Text: "hi"}},
		{name: "group key keeps id case", args: map[string]any{"content": "hi", "chat_id": "dingtalk:group:cidXyZ=="},
			want: picoclaw.Outbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidXyZ=="}, Text: "hi"}},
		{name: "bare id with chat_type", args: map[string]any{"content": "yo", "chat_id": "manager42", "chat_type": "direct"},
			want: picoclaw.Outbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "manager42"}, Text: "yo"}},
		{name: "explicit channel", args: map[string]any{"content": "x", "channel": "other", "chat_id": "g1", "chat_type": "group"},
			want: picoclaw.Outbound{Channel: "other", Chat: picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "g1"}, Text: "x"}},
		{name: "matching channel and key", args: map[string]any{"content": "x", "channel": "dingtalk", "chat_id": "dingtalk:group:g", "chat_type": "group"},
			want: picoclaw.Outbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "g"}, Text: "x"}},
		{name: "bare id without chat_type", args: map[string]any{"content": "x", "chat_id": "manager42"}, wantErr: `pass chat_type "direct" or "group"`},
		{name: "bad chat_type", args: map[string]any{"content": "x", "chat_id": "m", "chat_type": "channel"}, wantErr: `chat_type must be "direct" or "group"`},
		{name: "chat_type contradicts", args: map[string]any{"content": "x", "chat_id": "dingtalk:group:g", "chat_type": "direct"}, wantErr: "contradicts"},
		{name: "channel contradicts", args: map[string]any{"content": "x", "channel": "slack", "chat_id": "dingtalk:group:g"}, wantErr: "contradicts"},
		{name: "empty id", args: map[string]any{"content": "x", "chat_id": "dingtalk:group:"}, wantErr: "empty id"},
		{name: "key without channel", args: map[string]any{"content": "x", "chat_id": ":direct:u1"}, wantErr: "empty id or channel"},
		{name: "no chat_id", args: map[string]any{"content": "x"}, wantErr: "chat_id is required"},
		{name: "no content", args: map[string]any{"chat_id": "dingtalk:direct:1"}, wantErr: "content is required"},
		{name: "bad args", args: map[string]any{"content": []int{1}}, wantErr: "expected a JSON object like"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sent []picoclaw.Outbound
			tool := NewMessageTool(func(_ context.Context, out picoclaw.Outbound) error {
				sent = append(sent, out)
				return nil
			}, "dingtalk", picoclaw.SendScope{AllowTo: []string{"*"}})
			raw, _ := json.Marshal(tc.args)
			got, err := tool.Call(context.Background(), raw)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || len(sent) != 0 {
					t.Fatalf("= %q, %v (sent %d); want error %q and nothing sent", got, err, len(sent), tc.wantErr)
				}
				return
			}
			if err != nil || got != "sent" {
				t.Fatalf("= %q, %v; want sent", got, err)
			}
			if len(sent) != 1 || sent[0] != tc.want {
				t.Fatalf("sent %+v, want %+v", sent, tc.want)
			}
		})
	}
}

func TestMessageToolSendError(t *testing.T) {
	cause := errors.New("webhook expired")
	tool := NewMessageTool(func(context.Context, picoclaw.Outbound) error { return cause }, "dingtalk", picoclaw.SendScope{AllowTo: []string{"*"}})
	_, err := tool.Call(context.Background(), json.RawMessage(`{"content":"x","chat_id":"dingtalk:group:g"}`))
	if !errors.Is(err, cause) || !strings.Contains(err.Error(), "send to dingtalk:group:g") {
		t.Fatalf("err = %v, want it to wrap the cause and name the chat", err)
	}
	_, err = NewMessageTool(nil, "dingtalk", picoclaw.SendScope{}).Call(context.Background(), json.RawMessage(`{"content":"x","chat_id":"dingtalk:group:g"}`))
	if err == nil || !strings.Contains(err.Error(), "not available") {
		t.Fatalf("nil send: err = %v", err)
	}
}

type turnKey struct{}

func turnOrigin(ctx context.Context) (string, picoclaw.Peer, bool) {
	p, ok := ctx.Value(turnKey{}).(picoclaw.Peer)
	return "dingtalk", p, ok
}

// TestSecurityMessageToStranger: a turn for alice may message alice (by
// default, or naming her chat) but not a staff member who never wrote to
// the bot, unless tools.message.allow_to lists them.
func TestSecurityMessageToStranger(t *testing.T) {
	alice := picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "alice"}
	ctx := context.WithValue(context.Background(), turnKey{}, alice)
	tests := []struct {
		name    string
		allowTo []string
		args    string
		want    *picoclaw.Peer
	}{
		{"default target is the own chat", nil, `{"content":"x"}`, &alice},
		{"own chat by key", nil, `{"content":"x","chat_id":"dingtalk:direct:alice"}`, &alice},
		{"stranger", nil, `{"content":"x","chat_id":"dingtalk:direct:stranger"}`, nil},
		{"stranger by bare id", nil, `{"content":"x","chat_id":"stranger","chat_type":"direct"}`, nil},
		{"a group", nil, `{"content":"x","chat_id":"dingtalk:group:cidOther=="}`, nil},
		{"listed group", []string{"dingtalk:group:cidOther=="}, `{"content":"x","chat_id":"dingtalk:group:cidOther=="}`, &picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidOther=="}},
		{"other group not listed", []string{"dingtalk:group:cidOther=="}, `{"content":"x","chat_id":"dingtalk:group:cidThird=="}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var sent []picoclaw.Outbound
			tool := NewMessageTool(func(_ context.Context, out picoclaw.Outbound) error {
				sent = append(sent, out)
				return nil
			}, "dingtalk", picoclaw.SendScope{Origin: turnOrigin, AllowTo: tc.allowTo})
			_, err := tool.Call(ctx, json.RawMessage(tc.args))
			if tc.want == nil {
				if !errors.Is(err, picoclaw.ErrRecipientNotAllowed) || len(sent) != 0 || !strings.Contains(err.Error(), "tools.message.allow_to") {
					t.Fatalf("err = %v, sent %v; want a refusal naming tools.message.allow_to and nothing sent", err, sent)
				}
				return
			}
			if err != nil || len(sent) != 1 || sent[0].Chat != *tc.want {
				t.Fatalf("err = %v, sent %+v; want one message to %+v", err, sent, *tc.want)
			}
		})
	}
}

// TestMessageToolSeveralBots: with several DingTalk bots each is its own
// channel. A bare chat id names a chat of the bot the turn answers as,
// and the same user's chat with another bot is another chat: refused
// unless tools.message.allow_to lists it.
func TestMessageToolSeveralBots(t *testing.T) {
	alice := picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "alice"}
	origin := func(context.Context) (string, picoclaw.Peer, bool) { return "dingtalk-sales", alice, true }
	var sent []picoclaw.Outbound
	tool := NewMessageTool(func(_ context.Context, out picoclaw.Outbound) error {
		sent = append(sent, out)
		return nil
	}, "dingtalk", picoclaw.SendScope{Origin: origin})
	if _, err := tool.Call(context.Background(), json.RawMessage(`{"content":"x","chat_id":"alice","chat_type":"direct"}`)); err != nil {
		t.Fatalf("bare id of the own chat: %v", err)
	}
	if len(sent) != 1 || sent[0].Channel != "dingtalk-sales" || sent[0].Chat != alice {
		t.Fatalf("sent %+v, want one message to dingtalk-sales:direct:alice", sent)
	}
	_, err := tool.Call(context.Background(), json.RawMessage(`{"content":"x","chat_id":"dingtalk-work:direct:alice"}`))
	if !errors.Is(err, picoclaw.ErrRecipientNotAllowed) || len(sent) != 1 {
		t.Fatalf("the same user's chat with another bot: err %v, sent %+v; want a refusal", err, sent)
	}
}
