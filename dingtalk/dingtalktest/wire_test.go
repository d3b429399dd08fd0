package dingtalktest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// decodeData decodes the data string of a frame.
func decodeData(t *testing.T, frame map[string]any) map[string]any {
	t.Helper()
	s, ok := frame["data"].(string)
	if !ok {
		t.Fatalf("data is %s, want a JSON string", jsonKind(frame["data"]))
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("data is not a JSON document: %v", err)
	}
	return m
}

func TestBotFrameMatchesFixtures(t *testing.T) {
	s := newServer(t)
	ws := dialRaw(t, s)
	p, err := s.PushBotMessage(BotMessage{
		Group: true, InAtList: true, Text: " 给 发个消息“你好”",
		AtUsers: []AtUser{{UnionID: "UNIONIDxOFxATxUSER0000iEiE", DingtalkID: "$:LWCP_v1:$AT==", StaffID: "01234567890123456"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, raw := readJSON(t, ws)
	if string(raw) != string(p.Frame) {
		t.Errorf("socket carried %s, Pushed.Frame is %s", raw, p.Frame)
	}

	t.Run("envelope like stream-callback-frame.json", func(t *testing.T) {
		want := readFixture(t, "stream-callback-frame.json")
		sameShape(t, "", want, got, map[string]bool{".data": true})
		headers := got["headers"].(map[string]any)
		for k, v := range headers {
			if _, ok := v.(string); !ok {
				t.Errorf("header %s is %s, want string (time too)", k, jsonKind(v))
			}
		}
		for _, k := range []string{"connectionId", "messageId", "time", "topic"} {
			if headers[k] == "" || headers[k] == nil {
				t.Errorf("header %s missing", k)
			}
		}
		if headers["messageId"] != p.MessageID || headers["connectionId"] != p.ConnectionID {
			t.Errorf("headers %v disagree with Pushed %+v", headers, p)
		}
		// The doc sample's data, except its createA typo.
		sameShape(t, "data", decodeData(t, want), decodeData(t, got), map[string]bool{"data.createA": true})
	})

	t.Run("data like bot-text-group-at-logged.json", func(t *testing.T) {
		want := readFixture(t, "bot-text-group-at-logged.json")
		d := decodeData(t, got)
		sameShape(t, "data", want, d, nil)
		if d["conversationType"] != "2" || d["isInAtList"] != true || d["robotCode"] != s.ClientID {
			t.Errorf("conversationType/isInAtList/robotCode = %v/%v/%v", d["conversationType"], d["isInAtList"], d["robotCode"])
		}
		botListed := false
		for _, u := range d["atUsers"].([]any) {
			if u.(map[string]any)["dingtalkId"] == d["chatbotUserId"] {
				botListed = true
			}
		}
		if !botListed {
			t.Errorf("atUsers %v lacks the bot (chatbotUserId %v)", d["atUsers"], d["chatbotUserId"])
		}
		ttl := time.Duration(d["sessionWebhookExpiredTime"].(float64)-d["createAt"].(float64)) * time.Millisecond
		if ttl != 90*time.Minute {
			t.Errorf("webhook ttl = %v, want 90m", ttl)
		}
		hook, _ := d["sessionWebhook"].(string)
		if hook != s.URL()+WebhookPath+"?session="+p.Session || d["msgId"] != p.MsgID {
			t.Errorf("sessionWebhook %q msgId %v disagree with Pushed %+v", hook, d["msgId"], p)
		}
		if !strings.HasPrefix(d["senderId"].(string), "$:LWCP_v1:") {
			t.Errorf("senderId %v, want $:LWCP_v1: form", d["senderId"])
		}
	})

	t.Run("single chat like bot-text-private.json", func(t *testing.T) {
		if _, err := s.PushBotMessage(BotMessage{Text: "hello DingTalk!"}); err != nil {
			t.Fatal(err)
		}
		f, _ := readJSON(t, ws)
		want := readFixture(t, "bot-text-private.json")
		d := decodeData(t, f)
		sameShape(t, "data", want, d, nil)
		for _, k := range []string{"atUsers", "isInAtList", "conversationTitle"} {
			if _, ok := d[k]; ok {
				t.Errorf("single chat carries %s; the sample has none", k)
			}
		}
		if d["conversationType"] != "1" {
			t.Errorf("conversationType = %v, want \"1\"", d["conversationType"])
		}
	})
}

func TestSystemFramesMatchFixtures(t *testing.T) {
	s := newServer(t)
	ws := dialRaw(t, s)

	t.Run("ping", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() { errc <- s.Ping(testCtx(t), "123-dsfs") }()
		got, _ := readJSON(t, ws)
		sameShape(t, "", readFixture(t, "stream-system-ping.json"), got, nil)
		if got["type"] != "SYSTEM" || got["headers"].(map[string]any)["topic"] != "ping" {
			t.Errorf("ping frame %v", got)
		}
		if decodeData(t, got)["opaque"] != "123-dsfs" {
			t.Errorf("ping data %v", got["data"])
		}
		// Answer like the official SDK: same messageId, data echoed.
		ack, _ := json.Marshal(map[string]any{"code": 200, "message": "ok", "data": got["data"],
			"headers": map[string]string{"messageId": got["headers"].(map[string]any)["messageId"].(string), "contentType": "application/json"}})
		if err := ws.Write(testCtx(t), 1, ack); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})

	t.Run("disconnect", func(t *testing.T) {
		if _, err := s.Disconnect("connection is expired"); err != nil {
			t.Fatal(err)
		}
		got, _ := readJSON(t, ws)
		sameShape(t, "", readFixture(t, "stream-system-disconnect.json"), got, nil)
		if _, ok := got["headers"].(map[string]any)["messageId"]; ok {
			t.Errorf("disconnect frame has a messageId: %v", got)
		}
		if decodeData(t, got)["reason"] != "connection is expired" {
			t.Errorf("disconnect data %v", got["data"])
		}
	})
}

func TestAnswersMatchFixtures(t *testing.T) {
	s := newServer(t)
	okOpen := postOpen(t, s, s.ClientID, s.ClientSecret)
	badOpen := postOpen(t, s, s.ClientID, "wrong")
	s.FailOpen(http.StatusBadRequest, `{"requestid":"X","code":"systemError","message":"系统错误"}`, 1)
	failedOpen := postOpen(t, s, s.ClientID, s.ClientSecret)

	tests := []struct {
		name    string
		fixture string
		got     openResult
		status  int
		values  bool // compare values too, except requestid
	}{
		{"open ok", "stream-connections-open-response.json", okOpen, 200, false},
		{"open authFailed", "stream-connections-open-error-401-authFailed.json", badOpen, 401, true},
		{"open systemError", "stream-connections-open-error-400-systemError.json", failedOpen, 400, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got.status != tt.status {
				t.Fatalf("HTTP %d, want %d", tt.got.status, tt.status)
			}
			var got map[string]any
			if err := json.Unmarshal(tt.got.body, &got); err != nil {
				t.Fatalf("answer %s: %v", tt.got.body, err)
			}
			want := readFixture(t, tt.fixture)
			sameShape(t, "", want, got, nil)
			if len(got) != len(want) {
				t.Errorf("answer keys %v, fixture keys %v", got, want)
			}
			if tt.values && (got["code"] != want["code"] || got["message"] != want["message"]) {
				t.Errorf("answer %v, fixture %v", got, want)
			}
		})
	}
}
