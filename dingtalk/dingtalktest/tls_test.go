package dingtalktest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestStartTLS walks a whole exchange over TLS under DingTalk's own host
// names: open on api.dingtalk.com, the socket on
// wss-open-connection.dingtalk.com, a reply to the session webhook on
// oapi.dingtalk.com, all through Client, which trusts only the fake's CA.
func TestStartTLS(t *testing.T) {
	s := NewUnstartedServer()
	if err := s.StartTLS(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if s.URL() != "https://api.dingtalk.com" || len(s.Hosts()) != 3 || !strings.HasPrefix(s.Addr(), "127.0.0.1:") {
		t.Fatalf("URL %s, hosts %v, addr %s", s.URL(), s.Hosts(), s.Addr())
	}
	hc := s.Client()
	body, _ := json.Marshal(map[string]any{"clientId": s.ClientID, "clientSecret": s.ClientSecret,
		"subscriptions": []Subscription{{"CALLBACK", TopicBotMessage}}})
	resp, err := hc.Post(s.URL()+OpenPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var ep struct{ Endpoint, Ticket string }
	err = json.NewDecoder(resp.Body).Decode(&ep)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("open: HTTP %d, %v", resp.StatusCode, err)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("open answered over %s; the fake offers HTTP/2 as DingTalk does", resp.Proto)
	}
	if ep.Endpoint != "wss://"+StreamHost+ConnectPath {
		t.Fatalf("endpoint %q", ep.Endpoint)
	}
	ws, _, err := websocket.Dial(testCtx(t), ep.Endpoint+"?ticket="+url.QueryEscape(ep.Ticket), &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatalf("dial over TLS: %v", err)
	}
	defer ws.CloseNow()
	// The client's dial returns before the server has registered the socket.
	if err := s.WaitConnections(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	p, err := s.PushBotMessage(BotMessage{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.Read(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.SessionWebhook, "https://"+OAPIHost+WebhookPath) {
		t.Fatalf("session webhook %q is not on %s", p.SessionWebhook, OAPIHost)
	}
	resp, err = hc.Post(p.SessionWebhook, "application/json", strings.NewReader(`{"msgtype":"text","text":{"content":"hello"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, err := s.WaitReplies(testCtx(t), 1); err != nil || got[0].Text != "hello" {
		t.Fatalf("replies %+v, %v", got, err)
	}

	// The zombie switch works below TLS: the socket goes silent.
	go func() { _, _, _ = ws.Read(context.Background()) }() // Ping needs a reader
	s.SetZombie(true)
	ctx, cancel := context.WithTimeout(testCtx(t), 200*time.Millisecond)
	defer cancel()
	if err := ws.Ping(ctx); err == nil {
		t.Fatal("zombie TLS socket answered a ping")
	}

	// The CA is the fake's own: a pool made from CACertPEM trusts it, and
	// a client without it does not.
	if !x509.NewCertPool().AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("CACertPEM is not a PEM certificate")
	}
	plain := &http.Client{Transport: &http.Transport{DialContext: hc.Transport.(*http.Transport).DialContext}}
	if _, err := plain.Get(s.URL() + OpenPath); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("client without the CA: %v, want a certificate error", err)
	}
}
