package dingtalk

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"picoclaw"
)

// Conversation types, as DingTalk sends them (strings, not numbers).
const (
	conversationDirect = "1"
	conversationGroup  = "2"
)

// Message types (the msgtype field).
const (
	msgText     = "text"
	msgRichText = "richText"
	msgPicture  = "picture"
	msgAudio    = "audio"
	msgVideo    = "video"
	msgFile     = "file"
)

// atUser is one entry of atUsers. The bot itself is listed too, with a
// dingtalkId equal to chatbotUserId and no staffId.
type atUser struct {
	DingtalkID string `json:"dingtalkId"`
	StaffID    string `json:"staffId,omitempty"`
	UnionID    string `json:"unionId,omitempty"`
}

// textContent is the text field of a text message. IsReplyMsg and
// RepliedMsg are set when the user quoted a message (see quote).
type textContent struct {
	Content    string          `json:"content"`
	IsReplyMsg flexBool        `json:"isReplyMsg,omitempty"`
	RepliedMsg json.RawMessage `json:"repliedMsg,omitempty"`
}

// botMessage is the data of a /v1.0/im/bot/messages/get callback. IDs are
// opaque strings (staff ids have leading zeros); unknown fields are ignored.
type botMessage struct {
	ConversationID    string   `json:"conversationId"`
	ConversationType  string   `json:"conversationType"`
	ConversationTitle string   `json:"conversationTitle,omitempty"`
	AtUsers           []atUser `json:"atUsers,omitempty"`
	ChatbotCorpID     string   `json:"chatbotCorpId,omitempty"`
	ChatbotUserID     string   `json:"chatbotUserId,omitempty"`
	MsgID             string   `json:"msgId"`
	SenderNick        string   `json:"senderNick,omitempty"`
	SenderID          string   `json:"senderId,omitempty"`
	SenderStaffID     string   `json:"senderStaffId,omitempty"`
	SenderCorpID      string   `json:"senderCorpId,omitempty"`
	IsAdmin           bool     `json:"isAdmin,omitempty"`
	IsInAtList        bool     `json:"isInAtList,omitempty"`
	// CreateAt is in ms; zero when absent (an official sample misspells it).
	CreateAt       int64  `json:"createAt,omitempty"`
	SessionWebhook string `json:"sessionWebhook,omitempty"`
	// SessionWebhookExpiredTime is in ms since the epoch.
	SessionWebhookExpiredTime int64           `json:"sessionWebhookExpiredTime,omitempty"`
	RobotCode                 string          `json:"robotCode,omitempty"`
	MsgType                   string          `json:"msgtype"`
	Text                      textContent     `json:"text"`
	Content                   json.RawMessage `json:"content,omitempty"`
}

// parseBotMessage decodes the data of a bot message callback.
func parseBotMessage(data []byte) (*botMessage, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("dingtalk: parse bot message: %w: empty data", picoclaw.ErrBadResponse)
	}
	var m botMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("dingtalk: parse bot message: %w: %w", picoclaw.ErrBadResponse, err)
	}
	if m.MsgID == "" {
		return nil, fmt.Errorf("dingtalk: parse bot message: %w: missing msgId", picoclaw.ErrBadResponse)
	}
	return &m, nil
}

// IsGroup reports whether the message came from a group chat.
func (m *botMessage) IsGroup() bool { return m.ConversationType == conversationGroup }

// SenderKey is the sender's stable id: senderStaffId, else senderId
// (external users have no staff id).
func (m *botMessage) SenderKey() string {
	if m.SenderStaffID != "" {
		return m.SenderStaffID
	}
	return m.SenderID
}

// Chat returns the chat the message belongs to; ok is false for an unknown
// conversationType.
func (m *botMessage) Chat() (picoclaw.Peer, bool) {
	switch m.ConversationType {
	case conversationDirect:
		return picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: m.SenderKey()}, true
	case conversationGroup:
		return picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: m.ConversationID}, true
	default:
		return picoclaw.Peer{}, false
	}
}

// Created returns createAt as a time; zero when absent.
func (m *botMessage) Created() time.Time {
	if m.CreateAt == 0 {
		return time.Time{}
	}
	return time.UnixMilli(m.CreateAt)
}

// WebhookExpiry returns sessionWebhookExpiredTime as a time; zero when absent.
func (m *botMessage) WebhookExpiry() time.Time {
	if m.SessionWebhookExpiredTime == 0 {
		return time.Time{}
	}
	return time.UnixMilli(m.SessionWebhookExpiredTime)
}

// richTextSegment is one element of a richText message: either text
// ({"text":…}, no type) or a picture.
type richTextSegment struct {
	Type                string `json:"type,omitempty"`
	Text                string `json:"text,omitempty"`
	DownloadCode        string `json:"downloadCode,omitempty"`
	PictureDownloadCode string `json:"pictureDownloadCode,omitempty"`
}

// IsPicture reports whether the segment is a picture.
func (s richTextSegment) IsPicture() bool { return s.Type == "picture" }

// pictureContent is the content of a picture message. downloadCode is the
// code the messageFiles/download API accepts.
type pictureContent struct {
	DownloadCode        string `json:"downloadCode"`
	PictureDownloadCode string `json:"pictureDownloadCode,omitempty"`
}

// audioContent is the content of an audio message.
type audioContent struct {
	DownloadCode string     `json:"downloadCode"`
	Recognition  string     `json:"recognition,omitempty"` // DingTalk's speech-to-text
	Duration     flexString `json:"duration,omitempty"`
}

// videoContent is the content of a video message. duration is a string on
// the wire.
type videoContent struct {
	DownloadCode string     `json:"downloadCode"`
	Duration     flexString `json:"duration,omitempty"`
	VideoType    string     `json:"videoType,omitempty"`
}

// fileContent is the content of a file message.
type fileContent struct {
	DownloadCode string     `json:"downloadCode"`
	FileName     string     `json:"fileName,omitempty"`
	FileID       flexString `json:"fileId,omitempty"`
	SpaceID      flexString `json:"spaceId,omitempty"`
}

// RichText decodes the segments of a richText message.
func (m *botMessage) RichText() ([]richTextSegment, error) {
	var c struct {
		RichText []richTextSegment `json:"richText"`
	}
	if err := m.decodeContent(msgRichText, &c); err != nil {
		return nil, err
	}
	return c.RichText, nil
}

// Picture decodes the content of a picture message.
func (m *botMessage) Picture() (pictureContent, error) {
	var c pictureContent
	err := m.decodeContent(msgPicture, &c)
	return c, err
}

// Audio decodes the content of an audio message.
func (m *botMessage) Audio() (audioContent, error) {
	var c audioContent
	err := m.decodeContent(msgAudio, &c)
	return c, err
}

// Video decodes the content of a video message.
func (m *botMessage) Video() (videoContent, error) {
	var c videoContent
	err := m.decodeContent(msgVideo, &c)
	return c, err
}

// File decodes the content of a file message.
func (m *botMessage) File() (fileContent, error) {
	var c fileContent
	err := m.decodeContent(msgFile, &c)
	return c, err
}

func (m *botMessage) decodeContent(want string, v any) error {
	if m.MsgType != want {
		return fmt.Errorf("dingtalk: decode %s content: message %s has msgtype %q", want, m.MsgID, m.MsgType)
	}
	if len(bytes.TrimSpace(m.Content)) == 0 || bytes.Equal(bytes.TrimSpace(m.Content), []byte("null")) {
		return fmt.Errorf("dingtalk: decode %s content: message %s has no content", want, m.MsgID)
	}
	if err := json.Unmarshal(m.Content, v); err != nil {
		return fmt.Errorf("dingtalk: decode %s content of message %s: %w", want, m.MsgID, err)
	}
	return nil
}

// PlainText returns the message's text: text.content for text, the text
// segments joined verbatim for richText (pictures dropped), the speech
// recognition for audio, and "" for anything else (or undecodable content).
func (m *botMessage) PlainText() string {
	switch m.MsgType {
	case msgText:
		return m.Text.Content
	case msgRichText:
		segs, err := m.RichText()
		if err != nil {
			return ""
		}
		return joinTextSegments(segs)
	case msgAudio:
		a, err := m.Audio()
		if err != nil {
			return ""
		}
		return a.Recognition
	default:
		return ""
	}
}

func joinTextSegments(segs []richTextSegment) string {
	var b strings.Builder
	for _, s := range segs {
		if !s.IsPicture() {
			b.WriteString(s.Text)
		}
	}
	return b.String()
}

// flexString is a string that also accepts a JSON number, since DingTalk's samples and
// generated models disagree on the types of durations and ids.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("want a string or a number")
	}
	*f = flexString(n.String())
	return nil
}
