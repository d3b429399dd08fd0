package dingtalktest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/coder/websocket"
)

// dialApp opens a stream socket as app id with secret.
func dialApp(t *testing.T, s *Server, id, secret string) *websocket.Conn {
	t.Helper()
	r := postOpen(t, s, id, secret)
	if r.status != http.StatusOK {
		t.Fatalf("open as %s: HTTP %d %s", id, r.status, r.body)
	}
	var ep struct{ Endpoint, Ticket string }
	if err := json.Unmarshal(r.body, &ep); err != nil {
		t.Fatalf("open answer: %v", err)
	}
	n := s.ConnectionCount()
	ws, _, err := websocket.Dial(testCtx(t), ep.Endpoint+"?ticket="+url.QueryEscape(ep.Ticket), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	if err := s.WaitConnections(testCtx(t), n+1); err != nil {
		t.Fatal(err)
	}
	return ws
}

func TestTwoAppsOwnCredentialsSocketsAndWebhooks(t *testing.T) {
	s := newServer(t)
	s.AddApp("app-b", "secret-b")

	if r := postOpen(t, s, "app-b", s.ClientSecret); r.status != http.StatusUnauthorized {
		t.Errorf("app-b with app A's secret: HTTP %d, want 401", r.status)
	}
	if r := postOpen(t, s, "app-c", "secret-b"); r.status != http.StatusUnauthorized {
		t.Errorf("unknown app: HTTP %d, want 401", r.status)
	}
	wsA := dialApp(t, s, s.ClientID, s.ClientSecret)
	wsB := dialApp(t, s, "app-b", "secret-b")
	conns := s.Connections()
	if conns[0].App != s.ClientID || conns[1].App != "app-b" {
		t.Fatalf("connections' apps: %q, %q", conns[0].App, conns[1].App)
	}

	// The older socket (A's) gets A's message though B's socket is newer.
	pa, err := s.PushBotMessage(BotMessage{App: s.ClientID, Text: "for A"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ := readJSON(t, wsA)
	var data map[string]any
	_ = json.Unmarshal([]byte(m["data"].(string)), &data)
	if data["robotCode"] != s.ClientID || pa.ConnectionID != conns[0].ID {
		t.Errorf("A's message: robotCode %v on %s, want %s on %s", data["robotCode"], pa.ConnectionID, s.ClientID, conns[0].ID)
	}
	pb, err := s.PushBotMessage(BotMessage{App: "app-b", Text: "for B"})
	if err != nil {
		t.Fatal(err)
	}
	m, _ = readJSON(t, wsB)
	_ = json.Unmarshal([]byte(m["data"].(string)), &data)
	if data["robotCode"] != "app-b" {
		t.Errorf("B's message: robotCode %v, want app-b", data["robotCode"])
	}
	if _, err := s.PushBotMessage(BotMessage{App: "app-c"}); err == nil {
		t.Error("push to an app without a socket: no error")
	}

	// Each webhook answers as the app whose message opened it.
	for _, p := range []Pushed{pa, pb} {
		r := postRaw(t, p.SessionWebhook, "application/json", []byte(`{"msgtype":"text","text":{"content":"hi"}}`))
		if r.status != http.StatusOK {
			t.Fatalf("webhook: HTTP %d", r.status)
		}
	}
	reps := s.Replies()
	if len(reps) != 2 || reps[0].App != s.ClientID || reps[1].App != "app-b" {
		t.Errorf("replies' apps: %+v", reps)
	}

	// A token of app B sends only as robot B.
	status, tm := apiPost(t, s, TokenPath, "", map[string]string{"appKey": "app-b", "appSecret": "secret-b"})
	tokB, _ := tm["accessToken"].(string)
	if status != http.StatusOK || tokB == "" {
		t.Fatalf("token for app-b: HTTP %d %v", status, tm)
	}
	if status, _ := apiPost(t, s, BatchSendPath, tokB, markdownBody(s.ClientID)); status != http.StatusBadRequest {
		t.Errorf("B's token with A's robotCode: HTTP %d, want 400", status)
	}
	if status, _ := apiPost(t, s, BatchSendPath, tokB, markdownBody("app-b")); status != http.StatusOK {
		t.Errorf("B's token with its own robotCode: HTTP %d, want 200", status)
	}
	if status, _ := apiPost(t, s, TokenPath, "", map[string]string{"appKey": "app-b", "appSecret": s.ClientSecret}); status != http.StatusBadRequest {
		t.Errorf("token for app-b with A's secret: HTTP %d, want 400", status)
	}
}

// DingTalk keeps one single chat per user and bot: the same user has two
// conversation ids with two apps; the first app's ids are unchanged.
func TestTwoAppsDirectConversations(t *testing.T) {
	s := newServer(t)
	s.AddApp("app-b", "secret-b")
	_ = dialApp(t, s, s.ClientID, s.ClientSecret)
	_ = dialApp(t, s, "app-b", "secret-b")
	plain, _ := s.PushBotMessage(BotMessage{})
	a, _ := s.PushBotMessage(BotMessage{App: s.ClientID})
	b, _ := s.PushBotMessage(BotMessage{App: "app-b"})
	if plain.ConversationID != a.ConversationID || a.ConversationID == b.ConversationID {
		t.Errorf("conversations: default %s, app A %s, app B %s", plain.ConversationID, a.ConversationID, b.ConversationID)
	}
}
