package picoclaw

import (
	"strings"
	"time"

	"picoclaw/internal/text"
)

// ChatKind says whether a chat is a one-to-one conversation or a group.
type ChatKind int

const (
	// ChatDirect is a private chat between one user and the bot.
	ChatDirect ChatKind = iota + 1
	// ChatGroup is a group chat.
	ChatGroup
)

// String returns "direct" or "group", the words used in session keys.
func (k ChatKind) String() string {
	switch k {
	case ChatDirect:
		return "direct"
	case ChatGroup:
		return "group"
	default:
		return "unknown"
	}
}

// Peer names a chat on a channel. For a direct chat ID is the user's id
// (DingTalk: senderStaffId, else senderId); for a group it is the group's
// conversation id. IDs are opaque and case-sensitive.
type Peer struct {
	Kind ChatKind
	ID   string
}

// SessionKey identifies one conversation history, e.g.
// "dingtalk:direct:0123" or "dingtalk:group:cidXYZ==".
type SessionKey string

// NewSessionKey builds the key of a chat on a channel. IDs keep their case.
func NewSessionKey(channel string, chat Peer) SessionKey {
	return SessionKey(channel + ":" + chat.Kind.String() + ":" + chat.ID)
}

// Attachment is a file that came with an inbound message (a picture, a
// voice note, a document). Path is set once it is on disk.
type Attachment struct {
	Kind     string // "image", "audio", "video", "file"
	Name     string
	MIMEType string
	Path     string
	Size     int64
	Data     []byte // small images kept in memory for the model
	// Ref is the channel's handle to fetch the file later (DingTalk: the
	// downloadCode), so nothing is downloaded before a frame is acked.
	Ref string `json:"ref,omitempty"`
	// Note is text for the model about the attachment (a voice note's
	// transcript, a saved file's path) when its bytes are not given.
	Note string `json:"note,omitempty"`
}

// Inbound is one accepted user message, already past the channel's policy
// (allow list, group trigger) with leading mentions stripped.
type Inbound struct {
	Channel     string
	Chat        Peer
	SenderID    string
	SenderName  string
	MessageID   string
	Text        string
	Attachments []Attachment
	Received    time.Time
	// Session, when set, overrides the key derived from Channel and Chat
	// (the CLI's "cli:default", a cron job's own history).
	Session SessionKey `json:",omitempty"`
	// Route is the channel's own reply route for this message, carried
	// only when several gateways share the queue, so the gateway that
	// runs the turn can answer the way the receiving one would. It may
	// hold a secret (a session webhook): never log it.
	Route []byte `json:",omitempty"`
}

// SessionKey is the conversation this message belongs to.
func (in Inbound) SessionKey() SessionKey {
	if in.Session != "" {
		return in.Session
	}
	return NewSessionKey(in.Channel, in.Chat)
}

// OutboundKind tells a channel what an outbound message carries.
type OutboundKind int

const (
	// OutAnswer is a reply for the chat the message came from.
	OutAnswer OutboundKind = iota
	// OutReasoning is the model's thinking; the channel sends it to its
	// configured reasoning chat, or nowhere.
	OutReasoning
)

// Outbound is text the agent wants delivered to a chat.
type Outbound struct {
	Channel string
	Chat    Peer
	Kind    OutboundKind
	Text    string
	// ReplyTo is the MessageID of the inbound message this answers, if any,
	// so the channel can use that message's reply route.
	ReplyTo string
	// SenderID is the user who asked, for channels that mention them.
	SenderID string
	// Streamed marks a turn's answer whose making was streamed to the
	// turn's StreamSink: the channel may deliver it by finishing that
	// stream (a DingTalk AI card) rather than as a new message. Other
	// sends for the same message (a tool's, a sub-agent's) are not.
	Streamed bool `json:",omitempty"`
}

// Title returns the first words of s on one line, at most n runes, for chat
// list previews.
func Title(s string, n int) string {
	s = strings.TrimSpace(s)
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), "#>*-` "))
		if line == "" {
			continue
		}
		return text.SnippetRunes(line, n)
	}
	return "…"
}
