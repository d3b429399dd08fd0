package dingtalktest

import (
	"context"
	"testing"

	"github.com/open-dingtalk/dingtalk-stream-sdk-go/chatbot"
	"github.com/open-dingtalk/dingtalk-stream-sdk-go/client"
)

// TestOfficialSDK connects the official Go Stream SDK to the fake: if the
// SDK and the fake disagree on the wire, the fake is wrong.
func TestOfficialSDK(t *testing.T) {
	s := newServer(t)
	got := startSDK(t, s)

	open := s.OpenRequests()[0]
	if !open.SecretOK || open.Accept != "application/json" || open.UA != "dingtalk-sdk-go/v0.9.1" {
		t.Errorf("SDK open request recorded as %+v", open)
	}

	p, err := s.PushBotMessage(BotMessage{
		Group: true, InAtList: true, ConversationID: "cidSDK==", ConversationTitle: "测试群",
		SenderStaffID: "0420297", SenderNick: "李四", Text: " 测试数据",
		AtUsers: []AtUser{{DingtalkID: "$:LWCP_v1:$HUMAN==", StaffID: "0999"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var m *chatbot.BotCallbackDataModel
	select {
	case m = <-got:
	case <-testCtx(t).Done():
		t.Fatal("the SDK's bot handler never ran")
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"conversationId", m.ConversationId, "cidSDK=="},
		{"conversationType", m.ConversationType, "2"},
		{"conversationTitle", m.ConversationTitle, "测试群"},
		{"senderStaffId", m.SenderStaffId, "0420297"},
		{"senderNick", m.SenderNick, "李四"},
		{"text", m.Text.Content, " 测试数据"},
		{"msgtype", m.Msgtype, "text"},
		{"msgId", m.MsgId, p.MsgID},
		{"isInAtList", m.IsInAtList, true},
		{"sessionWebhook", m.SessionWebhook, p.SessionWebhook},
		{"chatbotUserId", m.ChatbotUserId, s.BotUserID},
		{"atUsers", len(m.AtUsers), 2},
		{"webhook ttl ms", m.SessionWebhookExpiredTime - m.CreateAt, int64(90 * 60 * 1000)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("SDK saw %s = %v, want %v", c.field, c.got, c.want)
		}
	}

	ack, err := s.WaitAck(testCtx(t), p.MessageID)
	if err != nil {
		t.Fatalf("no ack from the SDK: %v", err)
	}
	if ack.Code != 200 || ack.ConnectionID != p.ConnectionID || ack.Headers["contentType"] != "application/json" {
		t.Errorf("SDK ack recorded as %+v", ack)
	}
}

// TestOfficialSDKTwoClientsShareRandomPushes runs two official SDK clients
// for one app, as two gateway processes would: random pushes reach both,
// and each acks what it got on its own connection. Two pushes only: the
// SDK writes each ack from its own goroutine without a lock, which the
// race detector reports once one client handles a second message; seed
// 3 sends them down different connections.
func TestOfficialSDKTwoClientsShareRandomPushes(t *testing.T) {
	const n = 2
	s := newServer(t)
	first := startSDKClient(t, s, n)
	second := startSDKClient(t, s, n)
	if err := s.WaitConnections(testCtx(t), 2); err != nil {
		t.Fatal(err)
	}
	s.SetSeed(3)
	s.SetPushPolicy(PushRandom)
	conns := s.Connections()
	per := map[string]int{}
	for range n {
		p := mustPush(t, s, BotMessage{Text: "hi"})
		ack, err := s.WaitAck(testCtx(t), p.MessageID)
		if err != nil {
			t.Fatalf("no SDK ack for a push down %s: %v", p.ConnectionID, err)
		}
		if ack.Code != 200 || ack.ConnectionID != p.ConnectionID || !s.Acked(p.MsgID) {
			t.Fatalf("ack %+v for a push down %s", ack, p.ConnectionID)
		}
		per[p.ConnectionID]++
	}
	if per[conns[0].ID] != 1 || per[conns[1].ID] != 1 {
		t.Fatalf("%d pushes spread %v over two SDK clients", n, per)
	}
	// Each SDK's handler saw exactly the pushes down its connection (the
	// SDK acks once its handler returned, so they are all in).
	if a, b := len(first), len(second); a+b != n || a != per[conns[0].ID] {
		t.Errorf("SDK handlers saw %d and %d messages, pushes were %v", a, b, per)
	}
}

// startSDK connects an official SDK client to s and returns the channel
// its bot-message handler feeds.
func startSDK(t *testing.T, s *Server) <-chan *chatbot.BotCallbackDataModel {
	t.Helper()
	got := startSDKClient(t, s, 1)
	if err := s.WaitConnections(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	return got
}

// startSDKClient connects one more official SDK client to s; its handler
// feeds a channel of buf messages.
func startSDKClient(t *testing.T, s *Server, buf int) <-chan *chatbot.BotCallbackDataModel {
	t.Helper()
	got := make(chan *chatbot.BotCallbackDataModel, buf)
	cli := client.NewStreamClient(
		client.WithAppCredential(client.NewAppCredentialConfig(s.ClientID, s.ClientSecret)),
		client.WithOpenApiHost(s.URL()),
		client.WithAutoReconnect(false),
	)
	// Registered as the SDK's README and example do.
	cli.RegisterChatBotCallbackRouter(func(_ context.Context, data *chatbot.BotCallbackDataModel) ([]byte, error) {
		got <- data
		return []byte(""), nil
	})
	if err := cli.Start(testCtx(t)); err != nil {
		t.Fatalf("SDK Start against the fake: %v", err)
	}
	// Not cli.Close: it sets the SDK's connection to nil under its reader
	// goroutine, which panics (nil dereference, no recover) when a frame
	// has just arrived. The server's Close cuts the socket instead, as a
	// network drop would, and the SDK's goroutines end on the read error.
	return got
}
