package dingtalktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
)

// Robot reaction paths: the same body puts a text emotion on a user's
// message (reply) and takes it off (recall).
const (
	EmotionReplyPath  = "/v1.0/robot/emotion/reply"
	EmotionRecallPath = "/v1.0/robot/emotion/recall"
)

// EmotionCall is one accepted reply or recall.
type EmotionCall struct {
	Recall             bool
	RobotCode          string
	OpenMsgID          string
	OpenConversationID string
	EmotionType        int
	EmotionName        string
	EmotionID          string // textEmotion.emotionId
	Text               string // textEmotion.text
	BackgroundID       string // textEmotion.backgroundId
}

type emotionBody struct {
	RobotCode          string `json:"robotCode"`
	OpenMsgID          string `json:"openMsgId"`
	OpenConversationID string `json:"openConversationId"`
	EmotionType        int    `json:"emotionType"`
	EmotionName        string `json:"emotionName"`
	TextEmotion        *struct {
		EmotionID    string `json:"emotionId"`
		EmotionName  string `json:"emotionName"`
		Text         string `json:"text"`
		BackgroundID string `json:"backgroundId"`
	} `json:"textEmotion"`
}

func (s *Server) handleEmotionReply(w http.ResponseWriter, r *http.Request) {
	s.handleEmotion(w, r, EmotionReplyPath, false)
}

func (s *Server) handleEmotionRecall(w http.ResponseWriter, r *http.Request) {
	s.handleEmotion(w, r, EmotionRecallPath, true)
}

// handleEmotion checks the body against what the fake pushed: the
// robotCode, a msgId it sent and that message's own conversation. Like
// the robot sends, the codes it answers for bad parameters are
// unverified (no public sample shows them); the success body is too.
// Faults: FailOpenAPI(EmotionReplyPath, …) (e.g. 403 with the
// permission-denied body) makes the calls fail.
func (s *Server) handleEmotion(w http.ResponseWriter, r *http.Request, path string, recall bool) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	rec, ok := s.beginAPICall(w, r, path)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	fail := func(msg string) { s.refuseLocked(w, rec, "invalidParameter", msg) }
	var in emotionBody
	if err := json.Unmarshal(raw, &in); err != nil {
		fail("请求体不是合法的 JSON")
		return
	}
	conv, known := s.messageConversationLocked(in.OpenMsgID)
	switch {
	case in.RobotCode != s.robotCodeForLocked(rec.App):
		fail("robotCode 不存在")
		return
	case !known:
		fail("openMsgId 不存在")
		return
	case in.OpenConversationID != conv:
		fail("openConversationId 与消息不匹配")
		return
	case in.EmotionType != 2 || in.EmotionName == "" || in.TextEmotion == nil ||
		in.TextEmotion.EmotionID == "" || in.TextEmotion.Text == "" || in.TextEmotion.BackgroundID == "":
		fail("表情参数不合法")
		return
	}
	call := EmotionCall{Recall: recall, RobotCode: in.RobotCode, OpenMsgID: in.OpenMsgID,
		OpenConversationID: in.OpenConversationID, EmotionType: in.EmotionType, EmotionName: in.EmotionName,
		EmotionID: in.TextEmotion.EmotionID, Text: in.TextEmotion.Text, BackgroundID: in.TextEmotion.BackgroundID}
	on := s.oa.reactions[in.OpenMsgID]
	if recall {
		on = slices.DeleteFunc(on, func(n string) bool { return n == in.EmotionName })
	} else if !slices.Contains(on, in.EmotionName) {
		on = append(on, in.EmotionName)
	}
	s.oa.reactions[in.OpenMsgID] = on
	s.oa.emotions = append(s.oa.emotions, call)
	rec.Status = http.StatusOK
	s.recordLocked(rec)
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// messageConversationLocked finds the conversation of a pushed message.
func (s *Server) messageConversationLocked(msgID string) (string, bool) {
	conv, ok := s.msgConv[msgID]
	return conv, ok
}

// Emotions returns every accepted reaction call, in order.
func (s *Server) Emotions() []EmotionCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]EmotionCall(nil), s.oa.emotions...)
}

// WaitEmotions waits until at least n reaction calls were accepted and
// returns them all.
func (s *Server) WaitEmotions(ctx context.Context, n int) ([]EmotionCall, error) {
	if err := s.waitFor(ctx, func() bool { return len(s.oa.emotions) >= n }); err != nil {
		return nil, fmt.Errorf("dingtalktest: wait for %d emotion calls: %w", n, err)
	}
	return s.Emotions(), nil
}

// Reactions returns the emotion names on a message now.
func (s *Server) Reactions(msgID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.oa.reactions[msgID]...)
}
