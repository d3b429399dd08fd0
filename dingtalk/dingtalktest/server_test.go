package dingtalktest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(s *Server)
		id, secret string
		ct         string
		body       string // raw body instead of credentials
		want       int
		wantBody   string // substring
	}{
		{name: "good credentials", want: 200, wantBody: `"ticket"`},
		{name: "wrong secret", secret: "wrong", want: 401, wantBody: `"authFailed"`},
		{name: "wrong id", id: "other", want: 401, wantBody: `"authFailed"`},
		{name: "changed credentials", setup: func(s *Server) { s.SetCredentials("a", "b") }, want: 401, wantBody: "鉴权失败"},
		{name: "not json", ct: "application/json", body: "clientId=x", want: 400, wantBody: `"code"`},
		{name: "html fault", setup: func(s *Server) {
			s.FailOpen(400, "<html><head><title>400 Bad Request</title></head><body>tengine</body></html>", 1)
		}, want: 400, wantBody: "<title>400 Bad Request</title>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			id, secret := s.ClientID, s.ClientSecret
			if tt.setup != nil {
				tt.setup(s)
			}
			if tt.id != "" {
				id = tt.id
			}
			if tt.secret != "" {
				secret = tt.secret
			}
			var r openResult
			if tt.body != "" {
				r = postRaw(t, s.URL()+OpenPath, tt.ct, []byte(tt.body))
			} else {
				r = postOpen(t, s, id, secret)
			}
			if r.status != tt.want || !strings.Contains(string(r.body), tt.wantBody) {
				t.Fatalf("HTTP %d %s, want %d with %s", r.status, r.body, tt.want, tt.wantBody)
			}
			reqs := s.OpenRequests()
			if len(reqs) != 1 || reqs[0].Status != tt.want || s.OpenCount() != 1 {
				t.Fatalf("OpenRequests = %+v, want one with status %d", reqs, tt.want)
			}
		})
	}
}

func TestOpenRecordsRequest(t *testing.T) {
	s := newServer(t)
	postOpen(t, s, s.ClientID, s.ClientSecret)
	got := s.OpenRequests()[0]
	if got.ClientID != s.ClientID || !got.SecretOK || got.UA != "test/1" || got.LocalIP != "10.0.0.1" ||
		got.Accept != "application/json" || got.Ticket == "" ||
		len(got.Subscriptions) != 1 || got.Subscriptions[0] != (Subscription{"CALLBACK", TopicBotMessage}) {
		t.Fatalf("recorded %+v", got)
	}
}

func TestFailOpenCountsDown(t *testing.T) {
	s := newServer(t)
	s.FailOpen(500, `{"code":"systemError"}`, 2)
	var got []int
	for range 3 {
		got = append(got, postOpen(t, s, s.ClientID, s.ClientSecret).status)
	}
	if got[0] != 500 || got[1] != 500 || got[2] != 200 {
		t.Fatalf("statuses %v, want 500 500 200", got)
	}
}

func TestTickets(t *testing.T) {
	s := newServer(t)
	r := postOpen(t, s, s.ClientID, s.ClientSecret)
	var ep struct{ Endpoint, Ticket string }
	_ = json.Unmarshal(r.body, &ep)
	if !strings.HasPrefix(ep.Endpoint, "ws://127.0.0.1:") || !strings.HasSuffix(ep.Endpoint, ConnectPath) {
		t.Fatalf("endpoint %q", ep.Endpoint)
	}
	dial := func(ticket string) (int, error) {
		ws, resp, err := websocket.Dial(testCtx(t), ep.Endpoint+"?ticket="+url.QueryEscape(ticket), nil)
		if err == nil {
			t.Cleanup(func() { _ = ws.CloseNow() })
			return 101, nil
		}
		if resp == nil {
			return 0, err
		}
		return resp.StatusCode, err
	}
	if code, err := dial(ep.Ticket); code != 101 {
		t.Fatalf("first use: %d %v", code, err)
	}
	if code, _ := dial(ep.Ticket); code != http.StatusUnauthorized {
		t.Fatalf("second use: HTTP %d, want 401", code)
	}
	if code, _ := dial("made-up"); code != http.StatusUnauthorized {
		t.Fatalf("unknown ticket: HTTP %d, want 401", code)
	}

	s2 := newServerWith(t, func(s *Server) { s.TicketTTL = time.Nanosecond })
	r = postOpen(t, s2, s2.ClientID, s2.ClientSecret)
	_ = json.Unmarshal(r.body, &ep)
	time.Sleep(time.Millisecond) // let the 1ns ticket expire
	if code, _ := dial(ep.Ticket); code != http.StatusUnauthorized {
		t.Fatalf("expired ticket: HTTP %d, want 401", code)
	}
}

func TestPushAndAck(t *testing.T) {
	s := newServer(t)
	ws := dialRaw(t, s)
	p, err := s.PushBotMessage(BotMessage{Text: "hi", MsgID: "msgFIXED=="})
	if err != nil {
		t.Fatal(err)
	}
	f, _ := readJSON(t, ws)
	ack := `{"code":200,"headers":{"messageId":"` + p.MessageID + `","contentType":"application/json"},"message":"OK","data":"{\"response\":null}"}`
	if err := ws.Write(testCtx(t), websocket.MessageText, []byte(ack)); err != nil {
		t.Fatal(err)
	}
	got, err := s.WaitAck(testCtx(t), p.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Code != 200 || got.Data != `{"response":null}` || got.ConnectionID != p.ConnectionID || string(got.Raw) != ack {
		t.Fatalf("ack %+v", got)
	}

	r, err := s.Redeliver(p)
	if err != nil {
		t.Fatal(err)
	}
	f2, _ := readJSON(t, ws)
	if r.MessageID == p.MessageID || f2["data"] != f["data"] || r.MsgID != "msgFIXED==" {
		t.Fatalf("redelivery: messageId %s→%s, same data %v", p.MessageID, r.MessageID, f2["data"] == f["data"])
	}

	if err := s.PushFrame([]byte("not json")); err != nil {
		t.Fatal(err)
	}
	if _, b := readRaw(t, ws); string(b) != "not json" {
		t.Fatalf("PushFrame carried %q", b)
	}
	if err := ws.Write(testCtx(t), websocket.MessageText, []byte("garbage")); err != nil {
		t.Fatal(err)
	}
	if err := s.waitFor(testCtx(t), func() bool { return len(s.acks) == 2 }); err != nil {
		t.Fatal(err)
	}
	if a := s.Acks()[1]; string(a.Raw) != "garbage" || a.MessageID != "" {
		t.Fatalf("garbage recorded as %+v", a)
	}
}

func readRaw(t *testing.T, ws *websocket.Conn) (websocket.MessageType, []byte) {
	t.Helper()
	typ, b, err := ws.Read(testCtx(t))
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return typ, b
}

func TestCloseClientConnections(t *testing.T) {
	s := newServer(t)
	ws := dialRaw(t, s)
	s.CloseClientConnections()
	if _, _, err := ws.Read(testCtx(t)); err == nil {
		t.Fatal("read after drop succeeded")
	}
	if _, err := s.WaitClosed(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PushBotMessage(BotMessage{}); !errors.Is(err, ErrNoConnection) {
		t.Fatalf("push with no socket: %v, want ErrNoConnection", err)
	}
}

func TestZombieSwallowsPings(t *testing.T) {
	s := newServer(t)
	ws := dialRaw(t, s)
	go func() { _, _, _ = ws.Read(context.Background()) }() // Ping needs a reader
	if err := ws.Ping(testCtx(t)); err != nil {
		t.Fatalf("healthy ping: %v", err)
	}
	s.SetZombie(true)
	if !s.Connections()[0].Zombie {
		t.Fatal("Connections does not report the zombie")
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	if err := ws.Ping(ctx); err == nil {
		t.Fatal("zombie answered a ping")
	}
	ws2 := dialRaw(t, s) // sockets opened later are healthy
	go func() { _, _, _ = ws2.Read(context.Background()) }()
	if err := ws2.Ping(testCtx(t)); err != nil {
		t.Fatalf("new socket after zombie: %v", err)
	}
}

func TestDisconnect(t *testing.T) {
	s := newServerWith(t, func(s *Server) { s.DisconnectDelay = 10 * time.Millisecond })
	ws := dialRaw(t, s)
	id, err := s.Disconnect("connection is expired")
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := readJSON(t, ws); f["type"] != "SYSTEM" {
		t.Fatalf("got %v, want the disconnect frame", f)
	}
	if c := s.Connections()[0]; c.ID != id || !c.Draining {
		t.Fatalf("connection %+v, want draining %s", c, id)
	}
	if _, err := s.PushBotMessage(BotMessage{}); !errors.Is(err, ErrNoConnection) {
		t.Fatalf("push to a draining-only server: %v, want ErrNoConnection", err)
	}
	if _, _, err := ws.Read(testCtx(t)); err == nil {
		t.Fatal("socket still open after the disconnect delay")
	}
}

func TestPushFrameToDraining(t *testing.T) {
	s := newServerWith(t, func(s *Server) { s.DisconnectDelay = time.Hour })
	ws := dialRaw(t, s)
	id, err := s.Disconnect("bye")
	if err != nil {
		t.Fatal(err)
	}
	readJSON(t, ws)
	if err := s.PushFrameTo(id, []byte(`{"late":true}`)); err != nil {
		t.Fatal(err)
	}
	if _, b := readRaw(t, ws); string(b) != `{"late":true}` {
		t.Fatalf("got %s", b)
	}
	if err := s.PushFrameTo("unknown", nil); !errors.Is(err, ErrNoConnection) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestCloseIsIdempotentAndStopsSockets(t *testing.T) {
	s := NewServer()
	ws := dialRaw(t, s)
	s.Close()
	s.Close()
	if _, _, err := ws.Read(testCtx(t)); err == nil {
		t.Fatal("socket open after Close")
	}
}

func TestCloseCodeRecorded(t *testing.T) {
	tests := []struct {
		name  string
		close func(ws *websocket.Conn)
		want  int
	}{
		{"normal closure", func(ws *websocket.Conn) { _ = ws.Close(websocket.StatusNormalClosure, "") }, 1000},
		{"abrupt", func(ws *websocket.Conn) { _ = ws.CloseNow() }, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			ws := dialRaw(t, s)
			tt.close(ws)
			if _, err := s.WaitClosed(testCtx(t), 1); err != nil {
				t.Fatal(err)
			}
			if got := s.Connections()[0].CloseCode; got != tt.want {
				t.Fatalf("CloseCode = %d, want %d", got, tt.want)
			}
		})
	}
}
