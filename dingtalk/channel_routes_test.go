package dingtalk

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
)

func TestChannelRoutesSurviveRestart(t *testing.T) {
	srv := newFake(t)
	dir := t.TempDir()
	first := startChannel(t, srv, func(c *ChannelConfig) { c.StateDir = dir })
	group := first.push(t, dingtalktest.BotMessage{Group: true, InAtList: true, Text: "hi"})
	direct := first.push(t, dingtalktest.BotMessage{Text: "hi", SenderStaffID: "0555"})
	first.ch.flushRoutes() // the routes file itself is rewritten later (routes_store_test.go)
	info, err := os.Stat(filepath.Join(dir, routesFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("routes file: %v, %v", info, err)
	}

	second := newLiveChannel(t, srv, func(c *ChannelConfig) { c.StateDir = dir; c.ReasoningChannelID = group.Chat.ID })
	for _, chat := range []picoclaw.Peer{group.Chat, direct.Chat} {
		if err := second.ch.Send(testCtx(t), picoclaw.Outbound{Chat: chat, Text: "after restart"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := second.ch.Send(testCtx(t), picoclaw.Outbound{Kind: picoclaw.OutReasoning, Text: "thinking"}); err != nil {
		t.Fatal(err)
	}
	replies := srv.Replies()
	if len(replies) != 3 || len(srv.OpenAPISends()) != 0 {
		t.Fatalf("%d webhook replies, %d OpenAPI sends; want 3 and 0", len(replies), len(srv.OpenAPISends()))
	}
	if replies[0].ConversationID != group.Chat.ID || replies[2].ConversationID != group.Chat.ID || replies[1].ConversationID == group.Chat.ID {
		t.Errorf("replies went to %s, %s, %s", replies[0].ConversationID, replies[1].ConversationID, replies[2].ConversationID)
	}
	t.Run("expired while stopped", func(t *testing.T) {
		third := newLiveChannel(t, srv, func(c *ChannelConfig) { c.StateDir = dir })
		third.clock.Advance(2 * time.Hour)
		if err := third.ch.Send(testCtx(t), picoclaw.Outbound{Chat: group.Chat, Text: "late"}); err != nil {
			t.Fatal(err)
		}
		if len(srv.Replies()) != 3 || len(srv.OpenAPISends()) != 1 {
			t.Errorf("%d replies, %d sends; want the late answer by OpenAPI", len(srv.Replies()), len(srv.OpenAPISends()))
		}
	})
	t.Run("corrupt file", func(t *testing.T) {
		bad := t.TempDir()
		if err := os.WriteFile(filepath.Join(bad, routesFile), []byte("{not json"), 0o600); err != nil {
			t.Fatal(err)
		}
		lc := newLiveChannel(t, srv, func(c *ChannelConfig) { c.StateDir = bad })
		if !strings.Contains(lc.logs.String(), "without remembered chats") {
			t.Errorf("no warning:\n%s", lc.logs)
		}
	})
}

func TestChannelGroupReplyMentionsSender(t *testing.T) {
	off := false
	tests := []struct {
		name    string
		replyAt *bool
		msg     dingtalktest.BotMessage
		at      string // "" means no mention
	}{
		{"default on", nil, dingtalktest.BotMessage{Group: true, InAtList: true, Text: "hi", SenderStaffID: "0777"}, "0777"},
		{"turned off", &off, dingtalktest.BotMessage{Group: true, InAtList: true, Text: "hi", SenderStaffID: "0777"}, ""},
		{"external sender has no staff id", nil, dingtalktest.BotMessage{Group: true, InAtList: true, Text: "hi", External: true}, ""},
		{"direct chats are not mentioned", nil, dingtalktest.BotMessage{Text: "hi", SenderStaffID: "0777"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFake(t)
			lc := startChannel(t, srv, func(c *ChannelConfig) { c.ReplyAtSender = tt.replyAt })
			in := lc.push(t, tt.msg)
			text, parts := threeParts()
			if err := lc.reply(t, in, text); err != nil {
				t.Fatal(err)
			}
			replies := srv.Replies()
			if len(replies) != 3 {
				t.Fatalf("%d replies", len(replies))
			}
			for i, r := range replies {
				mentioned := len(r.AtUserIDs) > 0 || strings.HasPrefix(r.Text, "@")
				if want := tt.at != "" && i == 0; mentioned != want {
					t.Errorf("part %d: at %v, text %q…; mention wanted: %v", i, r.AtUserIDs, r.Text[:10], want)
				}
				if r.Title != picoclaw.Title(parts[i], 20) {
					t.Errorf("part %d title %q", i, r.Title)
				}
			}
			if tt.at != "" && (len(replies[0].AtUserIDs) != 1 || replies[0].AtUserIDs[0] != tt.at || !strings.HasPrefix(replies[0].Text, "@"+tt.at+"\n\n")) {
				t.Errorf("first part: at %v, text %q…", replies[0].AtUserIDs, replies[0].Text[:20])
			}
		})
	}
}

func TestChannelOpenAPIToken(t *testing.T) {
	srv := newFake(t)
	lc := startChannel(t, srv, nil)
	in := lc.push(t, dingtalktest.BotMessage{Text: "hi", WebhookTTL: time.Minute})
	for range 3 {
		if err := lc.reply(t, in, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.TokensIssued(); n != 1 {
		t.Fatalf("%d tokens for 3 sends, want 1 (cached)", n)
	}
	srv.RevokeTokens()
	if err := lc.reply(t, in, "after revoke"); err != nil {
		t.Fatal(err)
	}
	if n := srv.TokensIssued(); n != 2 {
		t.Errorf("%d tokens after a revoke, want 2", n)
	}
	if n := srv.OpenAPICount(dingtalktest.BatchSendPath); n != 5 {
		t.Errorf("%d batchSend calls, want 5 (3, then one refused and its retry)", n)
	}
	if s := srv.OpenAPISends(); len(s) != 4 || s[3].Text != "after revoke" {
		t.Errorf("sends %+v", s)
	}
	if logs := lc.logs.String(); strings.Contains(logs, srv.ClientSecret) {
		t.Errorf("logs carry the secret:\n%s", logs)
	}
	t.Run("QPS limit is retried", func(t *testing.T) {
		// A channel of its own in a bubble, speaking to the fake in memory
		// (its stream socket would keep fake time from moving): the QPS
		// waits pass in fake time.
		synctest.Test(t, func(t *testing.T) {
			qc := newLiveChannel(t, srv, func(c *ChannelConfig) { c.HTTPClient = &http.Client{Transport: srv.Transport()} })
			srv.FailOpenAPI(dingtalktest.BatchSendPath, 403, "", 2)
			before := srv.OpenAPICount(dingtalktest.BatchSendPath)
			start := time.Now()
			if err := qc.reply(t, in, "throttled"); err != nil {
				t.Fatal(err)
			}
			if n := srv.OpenAPICount(dingtalktest.BatchSendPath) - before; n != 3 {
				t.Errorf("%d calls, want 3", n)
			}
			waited, waits := time.Since(start), strings.Count(qc.logs.String(), "call failed, retrying")
			if waits != 2 || waited < 2*750*time.Millisecond || waited > 2*1250*time.Millisecond {
				t.Errorf("waited %d times, %v in all; want two waits of about a second", waits, waited)
			}
		})
	})
}

func TestChannelBadCredentialsOnOpenAPI(t *testing.T) {
	srv := newFake(t)
	lc := newLiveChannel(t, srv, func(c *ChannelConfig) { c.ClientSecret = "WRONGxSECRETxVALUE" })
	err := lc.ch.Send(testCtx(t), picoclaw.Outbound{Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}, Text: "x"})
	if !errors.Is(err, picoclaw.ErrAuth) || !strings.Contains(err.Error(), "channels.dingtalk.client_id/client_secret") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "WRONGxSECRETxVALUE") || strings.Contains(lc.logs.String(), "WRONGxSECRETxVALUE") {
		t.Errorf("the secret leaked")
	}
	if srv.TokensIssued() != 0 || srv.OpenAPICount(dingtalktest.BatchSendPath) != 0 {
		t.Errorf("tokens %d, sends %d", srv.TokensIssued(), srv.OpenAPICount(dingtalktest.BatchSendPath))
	}
}
