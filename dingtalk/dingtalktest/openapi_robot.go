package dingtalktest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// OpenAPISend is one message a client sent through the robot OpenAPI.
type OpenAPISend struct {
	Kind               string // "direct" (batchSend) or "group" (groupMessages/send)
	RobotCode          string
	UserIDs            []string // direct
	OpenConversationID string   // group
	MsgKey             string
	Title              string // sampleMarkdown title
	Text               string // sampleMarkdown text or sampleText content
	Param              map[string]any
	MsgParam           string // the msgParam string as sent
	// AnswersMsgIDs are the bot messages this send is counted as
	// answering, one per chat it reached (see ReplyCounts): tied by chat
	// and time order, so approximate; nil when the chat had no message.
	AnswersMsgIDs []string
}

// FileDownload records one GET of a downloadUrl.
type FileDownload struct {
	DownloadCode string
	// TokenHeader is true when the GET carried the access token header,
	// which a client must not send to a storage host.
	TokenHeader bool
}

// Upload is one file a client uploaded to media/upload.
type Upload struct {
	Type, FileName string
	Data           []byte
	MediaID        string
}

type storedFile struct {
	data        []byte
	contentType string
}

// knownMsgKey reports whether the fake accepts a robot message template.
func knownMsgKey(k string) bool {
	switch k {
	case "sampleText", "sampleMarkdown", "sampleImageMsg", "sampleLink", "sampleActionCard",
		"sampleActionCard2", "sampleActionCard3", "sampleActionCard4", "sampleActionCard5",
		"sampleActionCard6", "sampleAudio", "sampleFile", "sampleVideo":
		return true
	}
	return false
}

type robotBody struct {
	RobotCode          string   `json:"robotCode"`
	UserIDs            []string `json:"userIds"`
	OpenConversationID string   `json:"openConversationId"`
	MsgKey             string   `json:"msgKey"`
	MsgParam           *string  `json:"msgParam"` // a JSON document encoded as a string
}

func (s *Server) handleBatchSend(w http.ResponseWriter, r *http.Request) {
	s.handleRobotSend(w, r, BatchSendPath, "direct")
}

func (s *Server) handleGroupSend(w http.ResponseWriter, r *http.Request) {
	s.handleRobotSend(w, r, GroupSendPath, "group")
}

// handleRobotSend validates and records a robot message. Unknown
// conversation ids and staff ids are accepted. The error codes for bad
// parameters are unverified: no public sample shows them.
func (s *Server) handleRobotSend(w http.ResponseWriter, r *http.Request, path, kind string) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec, ok := s.beginAPICall(w, r, path)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	fail := func(msg string) { s.refuseLocked(w, rec, "invalidParameter", msg) }
	var in robotBody
	var param map[string]any
	switch {
	case json.Unmarshal(raw, &in) != nil:
		fail("请求体不是合法的 JSON")
		return
	case in.RobotCode != s.robotCodeForLocked(rec.App):
		fail("robotCode 不存在")
		return
	case !knownMsgKey(in.MsgKey):
		fail("msgKey 不合法")
		return
	case in.MsgParam == nil || json.Unmarshal([]byte(*in.MsgParam), &param) != nil || param == nil:
		fail("msgParam 必须是 JSON 对象的字符串")
		return
	case kind == "direct" && len(in.UserIDs) == 0:
		fail("userIds 不能为空")
		return
	case kind == "group" && in.OpenConversationID == "":
		fail("openConversationId 不能为空")
		return
	}
	send := OpenAPISend{Kind: kind, RobotCode: in.RobotCode, MsgKey: in.MsgKey, Param: param, MsgParam: *in.MsgParam}
	if kind == "direct" {
		send.UserIDs = in.UserIDs
	} else {
		send.OpenConversationID = in.OpenConversationID
	}
	send.Title, _ = param["title"].(string)
	if in.MsgKey == "sampleText" {
		send.Text, _ = param["content"].(string)
	} else {
		send.Text, _ = param["text"].(string)
	}
	rec.Status = http.StatusOK
	if kind == "direct" {
		for _, uid := range in.UserIDs {
			if id := s.answerInChatLocked(chatKey(rec.App, false, uid)); id != "" {
				send.AnswersMsgIDs = append(send.AnswersMsgIDs, id)
			}
		}
	} else if id := s.answerInChatLocked(chatKey(rec.App, true, in.OpenConversationID)); id != "" {
		send.AnswersMsgIDs = []string{id}
	}
	s.oa.sends = append(s.oa.sends, send)
	s.recordLocked(rec)
	key := randHex(32) + "+/=" // processQueryKeys are base64-like
	if kind == "direct" {
		writeJSON(w, http.StatusOK, struct {
			ProcessQueryKey string   `json:"processQueryKey"`
			Invalid         []string `json:"invalidStaffIdList"`
			FlowControlled  []string `json:"flowControlledStaffIdList"`
		}{key, []string{}, []string{}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"processQueryKey": key})
}

// AddFile registers a file that messageFiles/download serves for
// downloadCode.
func (s *Server) AddFile(downloadCode string, data []byte, contentType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oa.files[downloadCode] = storedFile{append([]byte(nil), data...), contentType}
}

// FileDownloads returns every GET of a downloadUrl, in order.
func (s *Server) FileDownloads() []FileDownload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]FileDownload(nil), s.oa.downloads...)
}

func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	rec, ok := s.beginAPICall(w, r, DownloadPath)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	var in struct {
		DownloadCode string `json:"downloadCode"`
		RobotCode    string `json:"robotCode"`
	}
	_ = json.Unmarshal(raw, &in)
	_, known := s.oa.files[in.DownloadCode]
	if in.RobotCode != s.robotCodeForLocked(rec.App) || !known {
		rec.Status = http.StatusBadRequest
		s.recordLocked(rec)
		writeAPIError(w, rec.Status, "invalidParameter", "downloadCode 或 robotCode 不合法")
		return
	}
	name := randHex(24)
	s.oa.urls[name] = in.DownloadCode
	rec.Status = http.StatusOK
	s.recordLocked(rec)
	// Shaped like a signed storage URL: the query is a credential.
	u := s.base + FilePathPrefix + name + "?Expires=" + strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) +
		"&OSSAccessKeyId=FAKE&Signature=" + randHex(28)
	writeJSON(w, http.StatusOK, map[string]string{"downloadUrl": u})
}

func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	code, ok := s.oa.urls[r.PathValue("name")]
	f := s.oa.files[code]
	if ok {
		s.oa.downloads = append(s.oa.downloads, FileDownload{DownloadCode: code, TokenHeader: r.Header.Get(AccessTokenField) != ""})
		s.notifyLocked()
	}
	s.mu.Unlock()
	if !ok {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "<Error><Code>AccessDenied</Code></Error>")
		return
	}
	if f.contentType != "" {
		w.Header().Set("Content-Type", f.contentType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
}

// Uploads returns every file accepted by media/upload, in order.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.oa.uploads...)
}

// WaitUploads waits until at least n uploads were accepted.
func (s *Server) WaitUploads(ctx context.Context, n int) ([]Upload, error) {
	if err := s.waitFor(ctx, func() bool { return len(s.oa.uploads) >= n }); err != nil {
		return nil, err
	}
	return s.Uploads(), nil
}

// handleUpload serves the legacy media/upload: the token is in the query,
// the answer always HTTP 200 with an errcode.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	tok, typ := r.URL.Query().Get("access_token"), r.URL.Query().Get("type")
	name, data, formErr := readMedia(r)

	s.mu.Lock()
	defer s.mu.Unlock()
	if f, faulted := s.takeFaultLocked(UploadPath, tok != ""); faulted {
		writeFault(w, f)
		return
	}
	rec := OpenAPIRequest{Path: UploadPath, Status: http.StatusOK, HadToken: tok != "", TokenOK: s.tokenValidLocked(tok)}
	answer := func(code int, msg string) {
		rec.Errcode = code
		s.recordLocked(rec)
		writeErrcode(w, code, msg)
	}
	switch {
	case !rec.TokenOK:
		answer(40014, "不合法的access_token")
	case typ != "image" && typ != "file" && typ != "voice" && typ != "video":
		answer(40004, "不合法的媒体文件类型")
	case formErr != nil:
		answer(41005, "缺少多媒体文件数据")
	default:
		id := "@lA" + randHex(30)
		s.oa.uploads = append(s.oa.uploads, Upload{Type: typ, FileName: name, Data: data, MediaID: id})
		rec.Errcode = 0
		s.recordLocked(rec)
		writeJSON(w, http.StatusOK, map[string]any{
			"errcode": 0, "errmsg": "ok", "media_id": id, "type": typ, "created_at": time.Now().UnixMilli(),
		})
	}
}

// readMedia reads the multipart field "media".
func readMedia(r *http.Request) (string, []byte, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return "", nil, errors.New("not a multipart body")
	}
	mr := multipart.NewReader(io.LimitReader(r.Body, 64<<20), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return "", nil, err
		}
		if p.FormName() == "media" {
			data, err := io.ReadAll(p)
			return p.FileName(), data, err
		}
	}
}
