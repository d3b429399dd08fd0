package dingtalk

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
)

// TestSharedRouteAnswersFromAnotherGateway: with several gateways on one
// queue, the one that runs a turn may not be the one DingTalk pushed the
// message to; the route travels with the message, so the answer still
// goes through that message's session webhook (and @-mentions its sender),
// not by OpenAPI.
func TestSharedRouteAnswersFromAnotherGateway(t *testing.T) {
	srv := newFake(t)
	receiver := startChannel(t, srv, func(c *ChannelConfig) { c.ShareRoutes = true })
	in := receiver.push(t, dingtalktest.BotMessage{Group: true, InAtList: true, Text: "hi", SenderStaffID: "0555"})
	if len(in.Route) == 0 {
		t.Fatal("inbound carries no route with ShareRoutes")
	}
	owner := newLiveChannel(t, srv, nil)
	owner.ch.Adopt(in)
	if err := owner.ch.Send(testCtx(t), picoclaw.Outbound{Chat: in.Chat, ReplyTo: in.MessageID, SenderID: in.SenderID, Text: "answer"}); err != nil {
		t.Fatal(err)
	}
	replies := srv.Replies()
	if len(replies) != 1 || len(srv.OpenAPISends()) != 0 || replies[0].ConversationID != in.Chat.ID {
		t.Fatalf("%d webhook replies (%+v), %d OpenAPI sends; want 1 webhook reply to %s", len(replies), replies, len(srv.OpenAPISends()), in.Chat.ID)
	}
}

// TestSharedRouteIsOptInAndChecked: a single gateway carries no route (no
// webhook leaves the process), and a forged route pointing off DingTalk
// is refused, so the answer goes by OpenAPI, never to that host.
func TestSharedRouteIsOptInAndChecked(t *testing.T) {
	srv := newFake(t)
	plain := startChannel(t, srv, nil)
	if in := plain.push(t, dingtalktest.BotMessage{Text: "hi"}); len(in.Route) != 0 {
		t.Fatalf("route carried without ShareRoutes: %q", in.Route)
	}
	owner := newLiveChannel(t, srv, nil)
	forged := picoclaw.Inbound{Channel: owner.ch.Name(), Chat: picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidGROUP"}, MessageID: "msgX",
		Route: []byte(`{"v":1,"webhook":"https://attacker.example/hook?secret=1","expiry_ms":99999999999999,"conversation_id":"cidGROUP"}`)}
	owner.ch.Adopt(forged)
	if !strings.Contains(owner.logs.String(), "refusing shared session webhook") {
		t.Fatalf("forged webhook not refused; logs:\n%s", owner.logs.String())
	}
	if strings.Contains(owner.logs.String(), "secret=1") {
		t.Fatal("the log shows the webhook's query")
	}
	if r, ok := owner.ch.routes.message("msgX"); !ok || r.webhook != "" {
		t.Fatalf("route = %+v, %v; want the chat kept without its webhook", r, ok)
	}
}

// memShare is a RouteShare in memory, as NATS KV would keep it.
type memShare struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memShare) Put(_ context.Context, key string, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ttl <= 0 {
		return errors.New("no ttl")
	}
	s.m[key] = value
	return nil
}

func (s *memShare) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}

// TestSharedChatRouteReachesAChatThisGatewayNeverSaw: a cron reminder or
// message-tool send from a gateway that never received a message of the
// chat still goes through the chat's session webhook, shared by the
// gateway that ran the chat's turn.
func TestSharedChatRouteReachesAChatThisGatewayNeverSaw(t *testing.T) {
	srv := newFake(t)
	share := &memShare{m: map[string][]byte{}}
	receiver := startChannel(t, srv, func(c *ChannelConfig) { c.ShareRoutes = true })
	in := receiver.push(t, dingtalktest.BotMessage{Group: true, InAtList: true, Text: "hi"})
	owner := newLiveChannel(t, srv, func(c *ChannelConfig) { c.SharedRoutes = share })
	owner.ch.Adopt(in)
	if len(share.m) != 1 {
		t.Fatalf("shared routes = %d, want the chat's", len(share.m))
	}
	other := newLiveChannel(t, srv, func(c *ChannelConfig) { c.SharedRoutes = share })
	if err := other.ch.Send(testCtx(t), picoclaw.Outbound{Chat: in.Chat, Text: "reminder"}); err != nil {
		t.Fatal(err)
	}
	if len(srv.Replies()) != 1 || len(srv.OpenAPISends()) != 0 {
		t.Fatalf("%d webhook replies, %d OpenAPI sends; want the reminder through the shared webhook", len(srv.Replies()), len(srv.OpenAPISends()))
	}
}
