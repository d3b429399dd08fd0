package dingtalktest

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// AtUser is one entry of a bot message's atUsers.
type AtUser struct {
	UnionID    string `json:"unionId,omitempty"`
	DingtalkID string `json:"dingtalkId"`
	StaffID    string `json:"staffId,omitempty"`
}

// BotMessage describes a message a user sends to the bot. Zero fields take
// realistic defaults (see PushBotMessage).
type BotMessage struct {
	Group             bool   // conversationType "2" (default: "1", single chat)
	ConversationID    string // default: a fixed group id, or one per sender for single chats
	ConversationTitle string // groups only; default "机器人测试"
	SenderStaffID     string // default "0123456789012345" (leading zero on purpose)
	SenderID          string // default "$:LWCP_v1:$" form derived from the staff id
	SenderNick        string // default "张三"
	External          bool   // sender outside the org: empty senderStaffId
	IsAdmin           bool
	Text              string   // text.content for msgtype "text"
	InAtList          bool     // the bot was @-mentioned: adds it to atUsers
	AtUsers           []AtUser // other people mentioned
	MsgID             string   // data.msgId; default unique
	MsgType           string   // default "text"
	Content           json.RawMessage
	WebhookTTL        time.Duration // default 90 min
	// Quote makes the message a quote reply (see QuotedMessage).
	Quote *QuotedMessage
	// App is the client id of the app (robot) the message is sent to: it
	// goes down that app's live socket (see PushBotMessage), carries its robotCode,
	// and its session webhook answers as that app. "" means the most
	// recent live socket of any app, as the first app.
	App string
}

// QuotedMessage is a message the user quotes ("replies to") in DingTalk.
// For msgtype "text" it becomes text.isReplyMsg + text.repliedMsg; for
// "richText" the same two keys are added to content; either way the data
// also carries originalMsgId, as DingTalk's payloads do. The repliedMsg
// shape is {msgType, msgId, senderId, createdAt, content}, as reported by
// the adapters that read it (see dingtalk/testdata/README.md).
type QuotedMessage struct {
	MsgType    string // default "text"
	MsgID      string // default unique
	SenderID   string // default another member's "$:LWCP_v1:$" id
	FromBot    bool   // quoting the bot: senderId is the bot's chatbotUserId
	SenderNick string // sent only when set (not every payload has it)
	// Text is the quoted text: content {"content": Text} for "text",
	// {"text": Text} for "markdown".
	Text string
	// Content, when set, is sent as repliedMsg.content verbatim (a
	// picture's {"downloadCode"}, a richText's {"richText":[…]}, a card's
	// {"cardContent":…}, or a hostile value).
	Content json.RawMessage
}

// Pushed tells what PushBotMessage sent.
type Pushed struct {
	MessageID      string // header messageId: what the ack must echo
	ConnectionID   string
	MsgID          string // data.msgId: stable across redeliveries
	ConversationID string
	SessionWebhook string
	Session        string // the session token inside SessionWebhook
	Data           string // the frame's data string
	Frame          []byte
	App            string // BotMessage.App: Redeliver uses the same app's socket
}

// botData is the data document, fields in the order of the logged sample.
type botData struct {
	SenderPlatform            string          `json:"senderPlatform"`
	ConversationID            string          `json:"conversationId"`
	AtUsers                   []AtUser        `json:"atUsers,omitempty"`
	ChatbotCorpID             string          `json:"chatbotCorpId"`
	ChatbotUserID             string          `json:"chatbotUserId"`
	OpenThreadID              string          `json:"openThreadId,omitempty"`
	MsgID                     string          `json:"msgId"`
	SenderNick                string          `json:"senderNick"`
	IsAdmin                   bool            `json:"isAdmin"`
	SenderStaffID             string          `json:"senderStaffId"`
	SessionWebhookExpiredTime int64           `json:"sessionWebhookExpiredTime"`
	CreateAt                  int64           `json:"createAt"`
	SenderCorpID              string          `json:"senderCorpId"`
	ConversationType          string          `json:"conversationType"`
	SenderID                  string          `json:"senderId"`
	ConversationTitle         string          `json:"conversationTitle,omitempty"`
	IsInAtList                *bool           `json:"isInAtList,omitempty"`
	SessionWebhook            string          `json:"sessionWebhook"`
	SenderUnionID             string          `json:"senderUnionId,omitempty"`
	OriginalMsgID             string          `json:"originalMsgId,omitempty"`
	Text                      *textBody       `json:"text,omitempty"`
	Content                   json.RawMessage `json:"content,omitempty"`
	RobotCode                 string          `json:"robotCode"`
	MsgType                   string          `json:"msgtype"`
}

type textBody struct {
	Content    string          `json:"content"`
	IsReplyMsg bool            `json:"isReplyMsg,omitempty"`
	RepliedMsg json.RawMessage `json:"repliedMsg,omitempty"`
}

type repliedMsg struct {
	MsgType    string          `json:"msgType"`
	MsgID      string          `json:"msgId"`
	SenderID   string          `json:"senderId"`
	SenderNick string          `json:"senderNick,omitempty"`
	CreatedAt  int64           `json:"createdAt"`
	Content    json.RawMessage `json:"content"`
}

// quote encodes q as repliedMsg for a message sent at now.
func (s *Server) quote(q QuotedMessage, now time.Time) (id string, raw json.RawMessage, err error) {
	r := repliedMsg{MsgType: q.MsgType, MsgID: q.MsgID, SenderID: q.SenderID, SenderNick: q.SenderNick,
		CreatedAt: now.Add(-time.Minute).UnixMilli(), Content: q.Content}
	if r.MsgType == "" {
		r.MsgType = "text"
	}
	if r.MsgID == "" {
		r.MsgID = newMsgID()
	}
	if q.FromBot {
		r.SenderID = s.BotUserID
	} else if r.SenderID == "" {
		r.SenderID = "$:LWCP_v1:$QUOTEDxSENDER" + randHex(8) + "=="
	}
	if r.Content == nil {
		key := "content"
		if r.MsgType == "markdown" {
			key = "text"
		}
		if r.Content, err = json.Marshal(map[string]string{key: q.Text}); err != nil {
			return "", nil, err
		}
	}
	raw, err = json.Marshal(r)
	return r.MsgID, raw, err
}

// Default identities, shaped like the anonymised logged sample.
const (
	DefaultGroupConversation = "cidGROUPxCONVERSATIONxID0=="
	DefaultSenderStaffID     = "0123456789012345"
	DefaultSenderNick        = "张三"
)

// PushBotMessage sends m as a CALLBACK frame on topic
// /v1.0/im/bot/messages/get on the most recent live socket (a random one
// under PushRandom; see multiconn.go for redelivery and duplicates). It
// opens a fresh session webhook for the message.
func (s *Server) PushBotMessage(m BotMessage) (Pushed, error) {
	c, err := s.liveFor(m.App)
	if err != nil {
		return Pushed{}, err
	}
	d, token, err := s.botData(m)
	if err != nil {
		return Pushed{}, err
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return Pushed{}, fmt.Errorf("dingtalktest: encode bot message: %w", err)
	}
	p := Pushed{MsgID: d.MsgID, ConversationID: d.ConversationID,
		SessionWebhook: d.SessionWebhook, Session: token, Data: string(raw), App: m.App}
	s.mu.Lock()
	if m.Group {
		s.trackChatLocked(chatKey(d.RobotCode, true, d.ConversationID), d.MsgID)
	} else {
		s.trackChatLocked(chatKey(d.RobotCode, false, d.SenderStaffID), d.MsgID)
	}
	s.mu.Unlock()
	if p, err = s.pushData(c, p); err != nil {
		return p, err
	}
	return p, s.maybeDuplicate(p)
}

// Redeliver pushes the same data again under a new header messageId, as
// DingTalk does when an ack is missing or slow.
func (s *Server) Redeliver(p Pushed) (Pushed, error) {
	c, err := s.liveFor(p.App)
	if err != nil {
		return Pushed{}, err
	}
	return s.pushData(c, p)
}

func (s *Server) pushData(c *wsConn, p Pushed) (Pushed, error) {
	return s.pushDataAs(c, p, false, false)
}

// pushDataAs sends p down c under a new messageId, recorded as a delivery
// (a redelivery by the fake's timer, or an injected duplicate) first, so
// that its ack always finds it.
func (s *Server) pushDataAs(c *wsConn, p Pushed, redelivery, duplicate bool) (Pushed, error) {
	f, id := s.callbackFrame(c.info.ID, TopicBotMessage, p.Data)
	p.MessageID, p.ConnectionID, p.Frame = id, c.info.ID, f.encode()
	s.mu.Lock()
	s.recordDeliveryLocked(p, redelivery, duplicate)
	s.mu.Unlock()
	return p, c.send(p.Frame)
}

// directConversation gives each sender a stable single-chat id, as DingTalk
// keeps one conversation per user and bot: app is "" for the first app
// (whose ids stay what they always were), else the other app's client id.
func directConversation(app, sender string) string {
	h := fnv.New64a()
	if app != "" {
		_, _ = h.Write([]byte(app + "|"))
	}
	_, _ = h.Write([]byte(sender))
	return fmt.Sprintf("cidDM%016x==", h.Sum64())
}

// botData fills defaults and registers the message's session webhook.
func (s *Server) botData(m BotMessage) (botData, string, error) {
	now := time.Now()
	ttl := m.WebhookTTL
	if ttl <= 0 {
		ttl = DefaultWebhookTTL
	}
	staff := m.SenderStaffID
	if staff == "" {
		staff = DefaultSenderStaffID
	}
	sender := m.SenderID
	if sender == "" {
		sender = "$:LWCP_v1:$SENDER" + staff + "=="
	}
	if m.External {
		staff = ""
	}
	d := botData{
		SenderPlatform: "Mac",
		ConversationID: m.ConversationID,
		ChatbotCorpID:  s.CorpID,
		ChatbotUserID:  s.BotUserID,
		MsgID:          m.MsgID,
		SenderNick:     m.SenderNick,
		IsAdmin:        m.IsAdmin,
		SenderStaffID:  staff,
		CreateAt:       now.UnixMilli(),
		SenderCorpID:   s.CorpID,
		SenderID:       sender,
		SenderUnionID:  "SENDERxUNIONx" + strings.ToUpper(randHex(9)) + "iEiE",
		MsgType:        m.MsgType,
	}
	d.SessionWebhookExpiredTime = d.CreateAt + ttl.Milliseconds()
	if m.External {
		d.SenderCorpID = "dingEXTERNAL" + randHex(24)
	}
	if d.SenderNick == "" {
		d.SenderNick = DefaultSenderNick
	}
	if d.MsgID == "" {
		d.MsgID = newMsgID()
	}
	if d.MsgType == "" {
		d.MsgType = "text"
	}
	if d.MsgType == "text" && m.Content == nil {
		d.Text = &textBody{Content: m.Text}
	} else {
		d.Content = m.Content
		if d.Content == nil {
			d.Content = json.RawMessage(`{}`)
		}
	}
	if m.Quote != nil {
		id, raw, err := s.quote(*m.Quote, now)
		if err != nil {
			return botData{}, "", fmt.Errorf("dingtalktest: encode quoted message: %w", err)
		}
		d.OriginalMsgID = id
		if d.Text != nil {
			d.Text.IsReplyMsg, d.Text.RepliedMsg = true, raw
		} else {
			var content map[string]json.RawMessage
			if err := json.Unmarshal(d.Content, &content); err != nil {
				return botData{}, "", fmt.Errorf("dingtalktest: quote in content %s: want a JSON object: %w", d.Content, err)
			}
			content["isReplyMsg"], content["repliedMsg"] = json.RawMessage("true"), raw
			if d.Content, err = json.Marshal(content); err != nil {
				return botData{}, "", fmt.Errorf("dingtalktest: encode content: %w", err)
			}
		}
	}
	if m.Group {
		d.ConversationType = "2"
		if d.ConversationID == "" {
			d.ConversationID = DefaultGroupConversation
		}
		d.OpenThreadID = d.ConversationID
		d.ConversationTitle = m.ConversationTitle
		if d.ConversationTitle == "" {
			d.ConversationTitle = "机器人测试"
		}
		at := m.InAtList
		d.IsInAtList = &at
	} else {
		d.ConversationType = "1"
		if d.ConversationID == "" {
			s.mu.Lock()
			app := m.App
			if app == s.ClientID {
				app = ""
			}
			s.mu.Unlock()
			d.ConversationID = directConversation(app, sender)
		}
		if m.InAtList {
			at := true
			d.IsInAtList = &at
		}
	}
	d.AtUsers = append(d.AtUsers, m.AtUsers...)
	if m.InAtList {
		d.AtUsers = append(d.AtUsers, AtUser{DingtalkID: s.BotUserID})
	}

	s.mu.Lock()
	d.RobotCode = s.ClientID
	if m.App != "" {
		d.RobotCode = m.App
	}
	app := d.RobotCode
	s.mu.Unlock()
	token := s.openSession(d.ConversationID, d.MsgID, app, now.Add(ttl))
	d.SessionWebhook = s.oapiBase + WebhookPath + "?session=" + token
	return d, token, nil
}
