package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"

	"picoclaw"
)

// With several bots, a file goes out as the bot of the chat the turn
// answers (its own OpenAPI client, so its own robotCode); the same user's
// chat with another bot is another chat, refused unless allowed.
func TestSendFileSeveralBots(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "r.pdf"), "pdf")
	work, sales := &fakeMediaAPI{}, &fakeMediaAPI{}
	alice := picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}
	scope := picoclaw.SendScope{Origin: func(context.Context) (string, picoclaw.Peer, bool) { return "dingtalk-sales", alice, true }}
	tool := NewSendFileToolFor(map[string]MediaSender{"dingtalk-work": work, "dingtalk-sales": sales}, ws, scope)

	for _, args := range []string{`{"path":"r.pdf"}`, `{"path":"r.pdf","chat_id":"direct:0123"}`, `{"path":"r.pdf","chat_id":"dingtalk-sales:direct:0123"}`} {
		if _, err := tool.Call(context.Background(), json.RawMessage(args)); err != nil {
			t.Fatalf("%s: %v", args, err)
		}
	}
	if len(sales.sends) != 3 || len(work.sends) != 0 || len(work.uploads) != 0 {
		t.Errorf("sales sent %d, work sent %d uploaded %d; want every file from the sales bot", len(sales.sends), len(work.sends), len(work.uploads))
	}
	_, err := tool.Call(context.Background(), json.RawMessage(`{"path":"r.pdf","chat_id":"dingtalk-work:direct:0123"}`))
	if !errors.Is(err, picoclaw.ErrRecipientNotAllowed) || len(work.sends) != 0 {
		t.Errorf("to the same user's chat with the work bot: %v, work sent %d; want a refusal", err, len(work.sends))
	}
}
