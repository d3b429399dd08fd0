package dingtalktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Webhook answer codes (errcode), as oapi.dingtalk.com sends them.
const (
	ErrcodeOK             = 0
	ErrcodeSessionMissing = 300001 // session expired or unknown
	ErrcodeSendTooFast    = 130101
	ErrcodeTooManyPerMin  = 660026
	ErrcodeBodyTooLarge   = 460101
	// ErrcodeBadRequest answers malformed JSON or a missing/unknown msgtype.
	// Unverified: the real code for these cases is not in any public sample.
	ErrcodeBadRequest = 40035
)

// MaxWebhookBody is the largest body sendBySession accepts.
const MaxWebhookBody = 20000

// Reply is one message the client delivered through a session webhook.
type Reply struct {
	Session        string // the session token of the webhook URL
	ConversationID string
	MsgID          string // data.msgId of the message the session belongs to
	App            string // the client id of the app whose message opened the session
	MsgType        string
	Title          string // markdown / actionCard title
	Text           string // text.content, or markdown / actionCard text
	AtUserIDs      []string
	IsAtAll        bool
	Body           []byte
}

type session struct {
	conversationID, msgID, app string
	expires                    time.Time
}

func (s *Server) openSession(conversationID, msgID, app string, expires time.Time) string {
	token := randHex(32)
	s.mu.Lock()
	s.sessions[token] = &session{conversationID, msgID, app, expires}
	if _, ok := s.msgConv[msgID]; !ok && msgID != "" {
		s.msgConv[msgID] = conversationID
	}
	s.mu.Unlock()
	return token
}

// ExpireWebhooks makes every session webhook issued so far answer 300001.
func (s *Server) ExpireWebhooks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ss := range s.sessions {
		ss.expires = time.Time{}
	}
}

// FailWebhook makes the next times webhook posts answer errcode (130101,
// 660026, 300001, …) without delivering them. times ≤ 0 clears the faults.
func (s *Server) FailWebhook(errcode, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times <= 0 {
		s.hookFail = nil
		return
	}
	for range times {
		s.hookFail = append(s.hookFail, errcode)
	}
}

// Replies returns every delivered webhook message, in order.
func (s *Server) Replies() []Reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Reply, len(s.replies))
	copy(out, s.replies)
	return out
}

// RepliesFor returns the delivered messages of one conversation.
func (s *Server) RepliesFor(conversationID string) []Reply {
	var out []Reply
	for _, r := range s.Replies() {
		if r.ConversationID == conversationID {
			out = append(out, r)
		}
	}
	return out
}

// WaitReplies waits until at least n messages were delivered and returns
// them all.
func (s *Server) WaitReplies(ctx context.Context, n int) ([]Reply, error) {
	if err := s.waitOn(ctx, &s.replied, func() bool { return len(s.replies) >= n }); err != nil {
		return nil, fmt.Errorf("dingtalktest: wait for %d replies: %w", n, err)
	}
	return s.Replies(), nil
}

// ReplyCount is the number of messages delivered so far.
func (s *Server) ReplyCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.replies)
}

// WaitRepliesFrom waits until more than from messages were delivered and
// returns those after the first from, in order: a reader that keeps up
// with many replies copies each once.
func (s *Server) WaitRepliesFrom(ctx context.Context, from int) ([]Reply, error) {
	var out []Reply
	err := s.waitOn(ctx, &s.replied, func() bool {
		if len(s.replies) <= from {
			return false
		}
		out = append([]Reply(nil), s.replies[max(from, 0):]...)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("dingtalktest: wait for replies after %d: %w", from, err)
	}
	return out, nil
}

// webhookMsg covers the msgtypes sendBySession accepts.
type webhookMsg struct {
	MsgType string `json:"msgtype"`
	Text    *struct {
		Content string `json:"content"`
	} `json:"text"`
	Markdown *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
	ActionCard *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"actionCard"`
	Link *struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"link"`
	At *struct {
		AtUserIDs []string `json:"atUserIds"`
		IsAtAll   bool     `json:"isAtAll"`
	} `json:"at"`
}

func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	token := r.URL.Query().Get("session")

	s.mu.Lock()
	if f, ok := s.takeWebhookFaultLocked(token); ok {
		s.mu.Unlock()
		s.writeWebhookFault(w, r, f)
		return
	}
	defer s.mu.Unlock()
	// Every errcode answer is recorded.
	answer := func(code int, msg string) {
		s.hookCalls = append(s.hookCalls, WebhookCall{Session: token, Errcode: code})
		s.notifyLocked()
		writeErrcode(w, code, msg)
	}
	if len(s.hookFail) > 0 {
		code := s.hookFail[0]
		s.hookFail = s.hookFail[1:]
		answer(code, errmsgFor(code))
		return
	}
	ss, ok := s.sessions[token]
	if !ok || !time.Now().Before(ss.expires) {
		answer(ErrcodeSessionMissing, "session 不存在")
		return
	}
	if len(body) > MaxWebhookBody {
		answer(ErrcodeBodyTooLarge, "description: body 大小不合法;solution:请保持大小在 20000bytes 以内;")
		return
	}
	var m webhookMsg
	if err := json.Unmarshal(body, &m); err != nil {
		answer(ErrcodeBadRequest, "缺少参数 json")
		return
	}
	rep := Reply{Session: token, ConversationID: ss.conversationID, MsgID: ss.msgID, App: ss.app, MsgType: m.MsgType, Body: body}
	switch {
	case m.MsgType == "text" && m.Text != nil:
		rep.Text = m.Text.Content
	case m.MsgType == "markdown" && m.Markdown != nil:
		rep.Title, rep.Text = m.Markdown.Title, m.Markdown.Text
	case m.MsgType == "actionCard" && m.ActionCard != nil:
		rep.Title, rep.Text = m.ActionCard.Title, m.ActionCard.Text
	case m.MsgType == "link" && m.Link != nil:
		rep.Title, rep.Text = m.Link.Title, m.Link.Text
	default:
		answer(ErrcodeBadRequest, "缺少参数 msgtype 或消息内容")
		return
	}
	if m.At != nil {
		rep.AtUserIDs, rep.IsAtAll = m.At.AtUserIDs, m.At.IsAtAll
	}
	if s.throttleLocked(ss.conversationID, time.Now()) {
		s.throttled++
		s.notifyLocked()
		answer(ErrcodeSendTooFast, "send too fast, exceed 20 times per minute")
		return
	}
	s.replies = append(s.replies, rep)
	s.countReplyLocked(ss.msgID)
	s.replied.notify()
	s.notifyLocked()
	answer(ErrcodeOK, "ok")
}

func errmsgFor(code int) string {
	switch code {
	case ErrcodeOK:
		return "ok"
	case ErrcodeSessionMissing:
		return "session 不存在"
	case ErrcodeSendTooFast:
		return "send too fast, exceed 20 times per minute"
	case ErrcodeTooManyPerMin:
		return "sending too many messages per minute"
	case ErrcodeBodyTooLarge:
		return "description: body 大小不合法;solution:请保持大小在 20000bytes 以内;"
	default:
		return "系统繁忙"
	}
}

// writeErrcode answers as oapi does: always HTTP 200, errmsg first.
func writeErrcode(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, http.StatusOK, struct {
		Errmsg  string `json:"errmsg"`
		Errcode int    `json:"errcode"`
	}{msg, code})
}

// throttleLocked records a delivery to conversation at now, or reports
// that the conversation already had ChatLimit deliveries in ChatWindow.
func (s *Server) throttleLocked(conversation string, now time.Time) bool {
	if s.ChatLimit <= 0 {
		return false
	}
	recent := s.sentAt[conversation][:0]
	for _, t := range s.sentAt[conversation] {
		if now.Sub(t) < s.ChatWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= s.ChatLimit {
		s.sentAt[conversation] = recent
		return true
	}
	s.sentAt[conversation] = append(recent, now)
	return false
}

// Throttled counts webhook posts refused with 130101 because a
// conversation went over ChatLimit messages in ChatWindow.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}
