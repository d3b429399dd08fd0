package dingtalktest

import (
	"testing"
	"time"
)

// The emotion endpoints check the body against the messages the fake sent
// and keep the reactions on each message.
func TestEmotionEndpoints(t *testing.T) {
	s := newServer(t)
	s.openSession("cidCONV==", "msgONE", "", time.Now().Add(time.Hour))
	tok := getToken(t, s)
	body := func(mod func(map[string]any)) map[string]any {
		b := map[string]any{"robotCode": s.ClientID, "openMsgId": "msgONE", "openConversationId": "cidCONV==",
			"emotionType": 2, "emotionName": "🤔思考中",
			"textEmotion": map[string]any{"emotionId": "2659900", "emotionName": "🤔思考中", "text": "🤔思考中", "backgroundId": "im_bg_1"}}
		if mod != nil {
			mod(b)
		}
		return b
	}
	for name, mod := range map[string]func(map[string]any){
		"wrong robot":        func(b map[string]any) { b["robotCode"] = "other" },
		"unknown message":    func(b map[string]any) { b["openMsgId"] = "msgNONE" },
		"other conversation": func(b map[string]any) { b["openConversationId"] = "cidOTHER==" },
		"no text emotion":    func(b map[string]any) { delete(b, "textEmotion") },
		"wrong type":         func(b map[string]any) { b["emotionType"] = 1 },
	} {
		if status, ans := apiPost(t, s, EmotionReplyPath, tok, body(mod)); status != 400 || ans["code"] != "invalidParameter" {
			t.Errorf("%s: %d %v, want 400 invalidParameter", name, status, ans)
		}
	}
	if status, _ := apiPost(t, s, EmotionReplyPath, "", body(nil)); status != 400 {
		t.Errorf("no token: %d, want 400", status)
	}
	if status, _ := apiPost(t, s, EmotionReplyPath, tok, body(nil)); status != 200 {
		t.Fatalf("reply: %d", status)
	}
	if got := s.Reactions("msgONE"); len(got) != 1 || got[0] != "🤔思考中" {
		t.Errorf("reactions %q after reply", got)
	}
	if status, _ := apiPost(t, s, EmotionRecallPath, tok, body(nil)); status != 200 {
		t.Fatalf("recall: %d", status)
	}
	if got := s.Reactions("msgONE"); len(got) != 0 {
		t.Errorf("reactions %q after recall", got)
	}
	if calls := s.Emotions(); len(calls) != 2 || calls[0].Recall || !calls[1].Recall {
		t.Errorf("calls %+v, want reply then recall", calls)
	}
	s.FailOpenAPI(EmotionReplyPath, 403, "", 1)
	if status, ans := apiPost(t, s, EmotionReplyPath, tok, body(nil)); status != 403 || ans["code"] != "Forbidden.AccessDenied.QpsLimitForApi" {
		t.Errorf("fault: %d %v", status, ans)
	}
}
