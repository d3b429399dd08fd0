package dingtalktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

func apiPut(t *testing.T, s *Server, path, token string, v any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(v)
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPut, s.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(AccessTokenField, token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

// The card endpoints refuse the bodies DingTalk refuses: unknown
// template, non-string card data, a malformed space, models not matching
// the space, a reused guid.
func TestCardEndpoints(t *testing.T) {
	s := newServer(t)
	s.AddCardTemplate("tpl")
	tok := getToken(t, s)
	body := func(mod func(map[string]any)) map[string]any {
		b := map[string]any{"cardTemplateId": "tpl", "outTrackId": "o1", "callbackType": "STREAM", "userIdType": 1,
			"openSpaceId": "dtv1.card//IM_ROBOT.staff1", "cardData": map[string]any{"cardParamMap": map[string]any{"a": "1"}},
			"imRobotOpenSpaceModel":   map[string]any{"supportForward": true},
			"imRobotOpenDeliverModel": map[string]any{"robotCode": s.ClientID, "spaceType": "IM_ROBOT"}}
		if mod != nil {
			mod(b)
		}
		return b
	}
	for name, mod := range map[string]func(map[string]any){
		"unknown template": func(b map[string]any) { b["cardTemplateId"] = "nope" },
		"number data":      func(b map[string]any) { b["cardData"] = map[string]any{"cardParamMap": map[string]any{"a": 1}} },
		"bad space":        func(b map[string]any) { b["openSpaceId"] = "IM_ROBOT.staff1" },
		"group space, robot models": func(b map[string]any) {
			b["openSpaceId"] = "dtv1.card//IM_GROUP.cid=="
		},
		"wrong robot": func(b map[string]any) {
			b["imRobotOpenDeliverModel"] = map[string]any{"robotCode": "other", "spaceType": "IM_ROBOT"}
		},
	} {
		if status, ans := apiPost(t, s, CardCreatePath, tok, body(mod)); status != 400 {
			t.Errorf("%s: %d %v, want 400", name, status, ans)
		}
	}
	if status, _ := apiPost(t, s, CardCreatePath, "", body(nil)); status != 400 {
		t.Errorf("no token: %d, want 400", status)
	}
	if status, ans := apiPost(t, s, CardCreatePath, tok, body(nil)); status != 200 || ans["success"] != true {
		t.Fatalf("create: %d %v", status, ans)
	}
	if status, _ := apiPost(t, s, CardCreatePath, tok, body(nil)); status != 400 {
		t.Errorf("same outTrackId twice: %d, want 400", status)
	}
	up := map[string]any{"outTrackId": "o1", "guid": "g1", "key": "content", "content": "hi", "isFull": true}
	if status, ans := apiPut(t, s, CardStreamingPath, tok, up); status != 200 {
		t.Fatalf("stream: %d %v", status, ans)
	}
	if status, _ := apiPut(t, s, CardStreamingPath, tok, up); status != 400 {
		t.Errorf("reused guid: %d, want 400", status)
	}
	if got, done := s.CardContent("o1", "content"); got != "hi" || done {
		t.Errorf("card shows %q, finished %v", got, done)
	}
}

// WaitCardUpdatesFrom hands a reader each accepted update once, in order.
func TestWaitCardUpdatesFrom(t *testing.T) {
	s := newServer(t)
	s.AddCardTemplate("tpl")
	tok := getToken(t, s)
	create := map[string]any{"cardTemplateId": "tpl", "outTrackId": "o1", "callbackType": "STREAM",
		"openSpaceId": "dtv1.card//IM_ROBOT.staff1", "cardData": map[string]any{"cardParamMap": map[string]any{}},
		"imRobotOpenSpaceModel":   map[string]any{},
		"imRobotOpenDeliverModel": map[string]any{"robotCode": s.ClientID, "spaceType": "IM_ROBOT"}}
	if status, ans := apiPost(t, s, CardCreatePath, tok, create); status != 200 {
		t.Fatalf("create: %d %v", status, ans)
	}
	for i, g := range []string{"g1", "g2", "g3"} {
		up := map[string]any{"outTrackId": "o1", "guid": g, "key": "content", "content": g, "isFull": true, "isFinalize": i == 2}
		if status, ans := apiPut(t, s, CardStreamingPath, tok, up); status != 200 {
			t.Fatalf("stream %s: %d %v", g, status, ans)
		}
	}
	if n := s.CardUpdateCount(); n != 3 {
		t.Fatalf("CardUpdateCount = %d, want 3", n)
	}
	got, err := s.WaitCardUpdatesFrom(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].GUID != "g2" || got[1].GUID != "g3" || !got[1].Finalize {
		t.Errorf("updates after 1 = %+v, want g2, then g3 finalizing", got)
	}
}
