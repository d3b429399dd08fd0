package dingtalktest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestWebhook(t *testing.T) {
	text := func(s string) []byte {
		b, _ := json.Marshal(map[string]any{"msgtype": "text", "text": map[string]string{"content": s},
			"at": map[string]any{"atUserIds": []string{"0123"}, "isAtAll": false}})
		return b
	}
	markdown := []byte(`{"msgtype":"markdown","markdown":{"title":"答案开头","text":"## 答案\n正文"}}`)

	tests := []struct {
		name      string
		setup     func(s *Server)
		session   func(p Pushed) string // default: the pushed session
		body      []byte
		fixture   string // expected answer, compared as JSON
		wantCode  float64
		delivered bool
	}{
		{name: "text ok", body: text("你好"), fixture: "webhook-ok.json", delivered: true},
		{name: "markdown ok", body: markdown, fixture: "webhook-ok.json", delivered: true},
		{name: "unknown session", session: func(Pushed) string { return "nope" }, body: text("x"),
			fixture: "webhook-err-300001-session-not-exist.json"},
		{name: "expired session", setup: func(s *Server) { s.ExpireWebhooks() }, body: text("x"),
			fixture: "webhook-err-300001-session-not-exist.json"},
		{name: "body too large", body: text(strings.Repeat("字", 7000)), fixture: "webhook-err-460101-body-too-large.json"},
		{name: "fault 130101", setup: func(s *Server) { s.FailWebhook(ErrcodeSendTooFast, 1) }, body: text("x"),
			fixture: "webhook-err-130101-send-too-fast.json"},
		{name: "fault 660026", setup: func(s *Server) { s.FailWebhook(ErrcodeTooManyPerMin, 1) }, body: text("x"),
			fixture: "webhook-err-660026-too-many-per-minute.json"},
		{name: "bad json", body: []byte(`{"msgtype":`), wantCode: ErrcodeBadRequest},
		{name: "unknown msgtype", body: []byte(`{"msgtype":"video","video":{}}`), wantCode: ErrcodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			dialRaw(t, s)
			p, err := s.PushBotMessage(BotMessage{Group: true, InAtList: true, ConversationID: "cidX==", Text: "hi"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(s)
			}
			session := p.Session
			if tt.session != nil {
				session = tt.session(p)
			}
			r := postRaw(t, s.URL()+WebhookPath+"?session="+session, "application/json", tt.body)
			if r.status != 200 {
				t.Fatalf("HTTP %d, want 200 always", r.status)
			}
			var got map[string]any
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatalf("answer %s: %v", r.body, err)
			}
			if tt.fixture != "" {
				want := readFixture(t, tt.fixture)
				if got["errcode"] != want["errcode"] || got["errmsg"] != want["errmsg"] {
					t.Errorf("answer %v, want %v", got, want)
				}
			} else if got["errcode"] != tt.wantCode || got["errmsg"] == "" {
				t.Errorf("answer %v, want errcode %v with a message", got, tt.wantCode)
			}
			reps := s.Replies()
			if !tt.delivered {
				if len(reps) != 0 {
					t.Errorf("recorded %d replies, want none", len(reps))
				}
				return
			}
			if len(reps) != 1 {
				t.Fatalf("recorded %d replies, want 1", len(reps))
			}
			rep := reps[0]
			if rep.Session != p.Session || rep.ConversationID != "cidX==" || rep.MsgID != p.MsgID || string(rep.Body) != string(tt.body) {
				t.Errorf("reply %+v does not match the push %+v", rep, p)
			}
			if len(s.RepliesFor("cidX==")) != 1 || len(s.RepliesFor("other")) != 0 {
				t.Errorf("RepliesFor does not filter by conversation")
			}
		})
	}
}

func TestWebhookFieldsAndFaultCount(t *testing.T) {
	s := newServer(t)
	dialRaw(t, s)
	p, err := s.PushBotMessage(BotMessage{Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	s.FailWebhook(ErrcodeSendTooFast, 2)
	hook := s.URL() + WebhookPath + "?session=" + p.Session
	body := []byte(`{"msgtype":"markdown","markdown":{"title":"T","text":"@0123 body"},"at":{"atUserIds":["0123"],"isAtAll":false}}`)
	var codes []float64
	for range 3 {
		var ans map[string]any
		_ = json.Unmarshal(postRaw(t, hook, "application/json", body).body, &ans)
		codes = append(codes, ans["errcode"].(float64))
	}
	if codes[0] != ErrcodeSendTooFast || codes[1] != ErrcodeSendTooFast || codes[2] != 0 {
		t.Fatalf("errcodes %v, want 130101 twice then 0", codes)
	}
	reps, err := s.WaitReplies(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	r := reps[0]
	if len(reps) != 1 || r.MsgType != "markdown" || r.Title != "T" || r.Text != "@0123 body" ||
		len(r.AtUserIDs) != 1 || r.AtUserIDs[0] != "0123" || r.ConversationID != p.ConversationID {
		t.Fatalf("replies %+v", reps)
	}
}

// DingTalk allows a robot ~20 messages a minute per chat; the fake
// refuses the 21st with 130101, as the real service does.
func TestWebhookThrottlesPerConversation(t *testing.T) {
	s := newServerWith(t, func(s *Server) { s.ChatLimit, s.ChatWindow = 3, time.Hour })
	dialRaw(t, s)
	p := mustPush(t, s, BotMessage{Text: "hi"})
	other := mustPush(t, s, BotMessage{SenderStaffID: "0999", Text: "hi"})
	for i := range 3 {
		if code := postWebhookCode(t, s, p); code != ErrcodeOK {
			t.Fatalf("message %d: errcode %d, want 0", i+1, code)
		}
	}
	if code := postWebhookCode(t, s, p); code != ErrcodeSendTooFast {
		t.Errorf("4th message in the window: errcode %d, want %d", code, ErrcodeSendTooFast)
	}
	if code := postWebhookCode(t, s, other); code != ErrcodeOK {
		t.Errorf("another chat was throttled too: errcode %d", code)
	}
	if n := s.Throttled(); n != 1 {
		t.Errorf("Throttled() = %d, want 1", n)
	}
	if n := len(s.Replies()); n != 4 {
		t.Errorf("%d replies recorded, want 4 (the refused one is not delivered)", n)
	}
}

func mustPush(t *testing.T, s *Server, m BotMessage) Pushed {
	t.Helper()
	p, err := s.PushBotMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func postWebhookCode(t *testing.T, s *Server, p Pushed) int {
	t.Helper()
	r := postRaw(t, s.URL()+WebhookPath+"?session="+p.Session, "application/json", []byte(`{"msgtype":"text","text":{"content":"x"}}`))
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("answer %s: %v", r.body, err)
	}
	return int(got["errcode"].(float64))
}
