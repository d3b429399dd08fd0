package dingtalktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"
)

// apiPost posts v (or raw bytes) to path with an optional access token.
func apiPost(t *testing.T, s *Server, path, token string, v any) (int, map[string]any) {
	t.Helper()
	body, ok := v.([]byte)
	if !ok {
		body, _ = json.Marshal(v)
	}
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, s.URL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set(AccessTokenField, token)
	}
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

func getToken(t *testing.T, s *Server) string {
	t.Helper()
	status, m := apiPost(t, s, TokenPath, "", map[string]string{"appKey": s.ClientID, "appSecret": s.ClientSecret})
	tok, _ := m["accessToken"].(string)
	if status != 200 || tok == "" {
		t.Fatalf("token: HTTP %d %v", status, m)
	}
	return tok
}

func markdownBody(robot string) map[string]any {
	return map[string]any{"robotCode": robot, "userIds": []string{"0123"}, "msgKey": "sampleMarkdown",
		"msgParam": `{"title":"T","text":"body"}`}
}

func TestOpenAPITokenEndpoint(t *testing.T) {
	s := newServerWith(t, func(s *Server) { s.TokenTTL = 90 * time.Second })
	status, m := apiPost(t, s, TokenPath, "", map[string]string{"appKey": s.ClientID, "appSecret": "wrong"})
	if status != 400 {
		t.Errorf("bad secret: HTTP %d", status)
	}
	sameShape(t, "invalidClientIdOrSecret", readFixture(t, "openapi-error-400-invalidClientIdOrSecret.json"), m, nil)
	if m["code"] != "invalidClientIdOrSecret" {
		t.Errorf("code %v", m["code"])
	}
	status, m = apiPost(t, s, TokenPath, "", map[string]string{"appKey": s.ClientID, "appSecret": s.ClientSecret})
	sameShape(t, "accessToken", readFixture(t, "openapi-accessToken-response.json"), m, nil)
	if status != 200 || m["expireIn"] != float64(90) || s.TokensIssued() != 1 {
		t.Errorf("HTTP %d %v, %d issued", status, m, s.TokensIssued())
	}
}

func TestOpenAPIRobotSends(t *testing.T) {
	s := newServer(t)
	tok := getToken(t, s)
	group := map[string]any{"robotCode": s.ClientID, "openConversationId": "cidUNKNOWNxGROUP+/==", "msgKey": "sampleText",
		"msgParam": `{"content":"hello"}`}
	tests := []struct {
		name, path, token string
		body              any
		status            int
		code, fixture     string
	}{
		{"direct", BatchSendPath, tok, markdownBody(s.ClientID), 200, "", "robot-batchSend-response.json"},
		{"group, unknown conversation accepted", GroupSendPath, tok, group, 200, "", "robot-groupMessages-send-response.json"},
		{"no token", BatchSendPath, "", markdownBody(s.ClientID), 400, "InvalidAuthentication", "openapi-error-400-InvalidAuthentication.json"},
		{"unknown token", GroupSendPath, "nope", group, 400, "InvalidAuthentication", ""},
		{"wrong robot code", BatchSendPath, tok, markdownBody("other"), 400, "invalidParameter", ""},
		{"msgParam as an object", BatchSendPath, tok, map[string]any{"robotCode": s.ClientID, "userIds": []string{"1"},
			"msgKey": "sampleText", "msgParam": map[string]string{"content": "x"}}, 400, "invalidParameter", ""},
		{"unknown msgKey", BatchSendPath, tok, map[string]any{"robotCode": s.ClientID, "userIds": []string{"1"},
			"msgKey": "sampleNope", "msgParam": "{}"}, 400, "invalidParameter", ""},
		{"not JSON", GroupSendPath, tok, []byte("<xml/>"), 400, "invalidParameter", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := apiPost(t, s, tt.path, tt.token, tt.body)
			if status != tt.status || (tt.code != "" && m["code"] != tt.code) {
				t.Errorf("HTTP %d %v, want %d %s", status, m, tt.status, tt.code)
			}
			if tt.fixture != "" {
				sameShape(t, tt.name, readFixture(t, tt.fixture), m, nil)
			}
		})
	}
	sends := s.OpenAPISends()
	if len(sends) != 2 {
		t.Fatalf("%d recorded, want the 2 accepted", len(sends))
	}
	d, g := sends[0], sends[1]
	if d.Kind != "direct" || d.UserIDs[0] != "0123" || d.Title != "T" || d.Text != "body" || d.Param["title"] != "T" {
		t.Errorf("direct %+v", d)
	}
	if g.Kind != "group" || g.OpenConversationID != "cidUNKNOWNxGROUP+/==" || g.Text != "hello" || g.MsgKey != "sampleText" {
		t.Errorf("group %+v", g)
	}
	if got, err := s.WaitOpenAPISends(testCtx(t), 2); err != nil || len(got) != 2 {
		t.Errorf("WaitOpenAPISends: %d, %v", len(got), err)
	}
}

func TestOpenAPIRevokeAndFaults(t *testing.T) {
	s := newServer(t)
	tok := getToken(t, s)
	s.RevokeTokens()
	if status, m := apiPost(t, s, BatchSendPath, tok, markdownBody(s.ClientID)); status != 400 || m["code"] != "InvalidAuthentication" {
		t.Errorf("revoked token: HTTP %d %v", status, m)
	}
	tok = getToken(t, s)
	steps := []struct {
		name   string
		fail   func()
		status int
		code   string
	}{
		{"qps", func() { s.FailOpenAPI(BatchSendPath, 403, "", 1) }, 403, "Forbidden.AccessDenied.QpsLimitForApi"},
		{"server error", func() { s.FailOpenAPI(BatchSendPath, 500, "", 1) }, 500, "ServiceUnavailable"},
		{"verbatim body", func() { s.FailOpenAPI(BatchSendPath, 400, `{"code":"X","message":"y"}`, 1) }, 400, "X"},
		{"faults are used up", func() {}, 200, ""},
		{"cleared", func() { s.FailOpenAPI(BatchSendPath, 500, "", 3); s.FailOpenAPI(BatchSendPath, 0, "", 0) }, 200, ""},
		{"token endpoint", func() { s.FailOpenAPI(TokenPath, 503, "", 1) }, 200, ""},
	}
	for _, st := range steps {
		st.fail()
		status, m := apiPost(t, s, BatchSendPath, tok, markdownBody(s.ClientID))
		if status != st.status || (st.code != "" && m["code"] != st.code) {
			t.Errorf("%s: HTTP %d %v", st.name, status, m)
		}
	}
	status, _ := apiPost(t, s, TokenPath, "", map[string]string{"appKey": s.ClientID, "appSecret": s.ClientSecret})
	if status != 503 {
		t.Errorf("token fault: HTTP %d", status)
	}
	if n := s.OpenAPICount(BatchSendPath); n != 7 {
		t.Errorf("%d batchSend calls recorded, want 7", n)
	}
}
