package dingtalktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// OpenAPI paths served by the fake (api.dingtalk.com, and the legacy
// oapi.dingtalk.com media upload on the same host).
const (
	TokenPath        = "/v1.0/oauth2/accessToken"
	BatchSendPath    = "/v1.0/robot/oToMessages/batchSend"
	GroupSendPath    = "/v1.0/robot/groupMessages/send"
	DownloadPath     = "/v1.0/robot/messageFiles/download"
	UploadPath       = "/media/upload"
	FilePathPrefix   = "/fake-oss/" // where downloadUrls point
	AccessTokenField = "x-acs-dingtalk-access-token"
)

// OpenAPIRequest records one call to an OpenAPI path (faults included).
type OpenAPIRequest struct {
	Path     string
	Status   int    // the HTTP status the fake answered
	Errcode  int    // media/upload only: the errcode answered
	TokenOK  bool   // the call carried a valid access token
	HadToken bool   // the call carried any access token
	App      string // the client id the token was issued to ("" without a valid token)
}

type tokenInfo struct {
	expires time.Time
	revoked bool
	app     string // the client id (appKey) it was issued to
}

type apiFault struct {
	status int
	body   string
}

// openAPIState is the fake's OpenAPI bookkeeping, guarded by Server.mu.
type openAPIState struct {
	tokens    map[string]*tokenInfo
	issued    int
	faults    map[string][]apiFault
	outage    map[string]apiFault // answered until RecoverOpenAPI
	requests  []OpenAPIRequest
	sends     []OpenAPISend
	files     map[string]storedFile // by downloadCode
	urls      map[string]string     // file URL name → downloadCode
	downloads []FileDownload
	uploads   []Upload
	emotions  []EmotionCall
	reactions map[string][]string // emotion names on a message, by msgId
	cards     cardState
}

func newOpenAPIState() openAPIState {
	return openAPIState{
		tokens: map[string]*tokenInfo{},
		faults: map[string][]apiFault{},
		outage: map[string]apiFault{},
		files:  map[string]storedFile{},
		urls:   map[string]string{},

		reactions: map[string][]string{},
		cards:     newCardState(),
	}
}

func (s *Server) registerOpenAPI(mux *http.ServeMux) {
	mux.HandleFunc("POST "+TokenPath, s.handleToken)
	mux.HandleFunc("POST "+BatchSendPath, s.handleBatchSend)
	mux.HandleFunc("POST "+GroupSendPath, s.handleGroupSend)
	mux.HandleFunc("POST "+DownloadPath, s.handleDownload)
	mux.HandleFunc("GET "+FilePathPrefix+"{name}", s.handleFile)
	mux.HandleFunc("POST "+UploadPath, s.handleUpload)
	mux.HandleFunc("POST "+EmotionReplyPath, s.handleEmotionReply)
	mux.HandleFunc("POST "+EmotionRecallPath, s.handleEmotionRecall)
	mux.HandleFunc("POST "+CardCreatePath, s.handleCardCreate)
	mux.HandleFunc("PUT "+CardStreamingPath, s.handleCardStreaming)
}

// FailOpenAPI makes the next times calls to path (TokenPath,
// BatchSendPath, …) answer status with body verbatim. An empty body takes
// the usual one for the status: 403 Forbidden.AccessDenied.QpsLimitForApi,
// 400 InvalidAuthentication, 401 InvalidAuthentication, 5xx
// ServiceUnavailable, else a plain HTML page. times ≤ 0 clears the
// faults of path.
func (s *Server) FailOpenAPI(path string, status int, body string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times <= 0 {
		delete(s.oa.faults, path)
		return
	}
	for range times {
		s.oa.faults[path] = append(s.oa.faults[path], apiFault{status, body})
	}
}

// TokensIssued counts the access tokens the token endpoint handed out.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.oa.issued
}

// RevokeTokens makes every access token issued so far answer
// 400 InvalidAuthentication, as an expired or reset token does.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ti := range s.oa.tokens {
		ti.revoked = true
	}
}

// OpenAPIRequests returns every OpenAPI call received so far, in order.
func (s *Server) OpenAPIRequests() []OpenAPIRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]OpenAPIRequest(nil), s.oa.requests...)
}

// OpenAPICount counts the calls to one path.
func (s *Server) OpenAPICount(path string) int {
	n := 0
	for _, r := range s.OpenAPIRequests() {
		if r.Path == path {
			n++
		}
	}
	return n
}

// takeFaultLocked pops the next fault of path, recording the call, if
// there is one. Callers hold s.mu.
func (s *Server) takeFaultLocked(path string, hadToken bool) (apiFault, bool) {
	q := s.oa.faults[path]
	var f apiFault
	switch {
	case len(q) > 0:
		f = q[0]
		s.oa.faults[path] = q[1:]
	default:
		var ok bool
		if f, ok = s.oa.outage[path]; !ok {
			return apiFault{}, false
		}
	}
	s.recordLocked(OpenAPIRequest{Path: path, Status: f.status, HadToken: hadToken})
	return f, true
}

func (s *Server) recordLocked(r OpenAPIRequest) {
	s.oa.requests = append(s.oa.requests, r)
	s.notifyLocked()
}

// refuseLocked records rec as a 400 and answers DingTalk's error body:
// how every OpenAPI fake turns down bad parameters.
func (s *Server) refuseLocked(w http.ResponseWriter, rec OpenAPIRequest, code, msg string) {
	rec.Status = http.StatusBadRequest
	s.recordLocked(rec)
	writeAPIError(w, rec.Status, code, msg)
}

// writeFault answers f: its body verbatim, or the usual one.
func writeFault(w http.ResponseWriter, f apiFault) {
	body := f.body
	if body == "" {
		switch {
		case f.status == http.StatusForbidden:
			body = apiErrorJSON("Forbidden.AccessDenied.QpsLimitForApi", "调用该接口触发限流，请稍后重试")
		case f.status == http.StatusBadRequest || f.status == http.StatusUnauthorized:
			body = apiErrorJSON("InvalidAuthentication", "不合法的access_token")
		case f.status >= 500:
			body = apiErrorJSON("ServiceUnavailable", "服务暂不可用，请稍后重试")
		default:
			body = "<html><head><title>" + http.StatusText(f.status) + "</title></head><body><center><h1>" +
				http.StatusText(f.status) + "</h1></center><hr><center>tengine</center></body></html>"
		}
	}
	ct := "text/html"
	if strings.HasPrefix(strings.TrimSpace(body), "{") {
		ct = "application/json;charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, body)
}

func apiErrorJSON(code, msg string) string {
	b, _ := json.Marshal(struct {
		Code      string `json:"code"`
		RequestID string `json:"requestid"`
		Message   string `json:"message"`
	}{code, newRequestID(), msg})
	return string(b)
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	var in struct {
		AppKey    string `json:"appKey"`
		AppSecret string `json:"appSecret"`
	}
	jsonErr := json.Unmarshal(raw, &in)

	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.takeFaultLocked(TokenPath, false); ok {
		writeFault(w, f)
		return
	}
	rec := OpenAPIRequest{Path: TokenPath}
	switch {
	case jsonErr != nil || in.AppKey == "" || in.AppSecret == "":
		rec.Status = http.StatusBadRequest
		s.recordLocked(rec)
		writeAPIError(w, rec.Status, "MissingParameter", "缺少参数 appKey 或 appSecret")
	case !s.appKeyOKLocked(in.AppKey, in.AppSecret):
		rec.Status = http.StatusBadRequest
		s.recordLocked(rec)
		// The official sample carries no requestid.
		writeJSON(w, rec.Status, map[string]string{"code": "invalidClientIdOrSecret", "message": "无效的clientId或者clientSecret"})
	default:
		rec.Status = http.StatusOK
		s.recordLocked(rec)
		ttl := s.TokenTTL
		if ttl <= 0 {
			ttl = DefaultTokenTTL
		}
		tok := randHex(32)
		s.oa.tokens[tok] = &tokenInfo{expires: time.Now().Add(ttl), app: in.AppKey}
		s.oa.issued++
		writeJSON(w, http.StatusOK, struct {
			AccessToken string `json:"accessToken"`
			ExpireIn    int64  `json:"expireIn"`
		}{tok, int64(ttl / time.Second)})
	}
}

// tokenValidLocked reports whether tok is a live token. Callers hold s.mu.
func (s *Server) tokenValidLocked(tok string) bool {
	ti, ok := s.oa.tokens[tok]
	return ok && !ti.revoked && time.Now().Before(ti.expires)
}

// robotCodeLocked is the robot code calls must carry.
func (s *Server) robotCodeLocked() string {
	if s.RobotCode != "" {
		return s.RobotCode
	}
	return s.ClientID
}

// beginAPICall applies faults and checks the token header. ok false means
// an answer was written. On ok the caller holds s.mu and must record the
// call and unlock.
func (s *Server) beginAPICall(w http.ResponseWriter, r *http.Request, path string) (rec OpenAPIRequest, ok bool) {
	tok := r.Header.Get(AccessTokenField)
	s.mu.Lock()
	if f, faulted := s.takeFaultLocked(path, tok != ""); faulted {
		s.mu.Unlock()
		writeFault(w, f)
		return rec, false
	}
	rec = OpenAPIRequest{Path: path, HadToken: tok != "", TokenOK: s.tokenValidLocked(tok)}
	if rec.TokenOK {
		rec.App = s.oa.tokens[tok].app
	}
	if !rec.TokenOK {
		rec.Status = http.StatusBadRequest
		s.recordLocked(rec)
		s.mu.Unlock()
		writeFault(w, apiFault{status: http.StatusBadRequest})
		return rec, false
	}
	return rec, true
}

// WaitOpenAPISends waits until at least n OpenAPI messages were accepted
// and returns them all.
func (s *Server) WaitOpenAPISends(ctx context.Context, n int) ([]OpenAPISend, error) {
	if err := s.waitFor(ctx, func() bool { return len(s.oa.sends) >= n }); err != nil {
		return nil, fmt.Errorf("dingtalktest: wait for %d openapi sends: %w", n, err)
	}
	return s.OpenAPISends(), nil
}

// OpenAPISends returns every message accepted by batchSend and
// groupMessages/send, in order.
func (s *Server) OpenAPISends() []OpenAPISend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]OpenAPISend(nil), s.oa.sends...)
}
