package natsstore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"picoclaw"
)

// queueWireVersion is the version of the inbox messages this build
// publishes; a reader refuses versions it does not know rather than guess.
const queueWireVersion = 1

// queueMessage is an accepted message as it is stored in the INBOX stream.
// Its field names are the wire format: renaming a Go field of
// picoclaw.Inbound never changes what other gateways read.
type queueMessage struct {
	V           int               `json:"v"`
	Channel     string            `json:"channel"`
	ChatKind    string            `json:"chat_kind"` // "direct", "group", or ""
	ChatID      string            `json:"chat_id"`
	SenderID    string            `json:"sender_id,omitempty"`
	SenderName  string            `json:"sender_name,omitempty"`
	MessageID   string            `json:"message_id"`
	Text        string            `json:"text"`
	Attachments []queueAttachment `json:"attachments,omitempty"`
	Received    time.Time         `json:"received,omitzero"`
	Session     string            `json:"session,omitempty"`
	// Route is the channel's reply route (picoclaw.Inbound.Route): the
	// session webhook, so the gateway running the turn answers through it.
	Route []byte `json:"route,omitempty"`
}

type queueAttachment struct {
	Kind     string `json:"kind"`
	Name     string `json:"name,omitempty"`
	MIMEType string `json:"mime_type,omitempty"`
	Path     string `json:"path,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Data     []byte `json:"data,omitempty"`
	Ref      string `json:"ref,omitempty"`
	Note     string `json:"note,omitempty"`
}

// encodeQueueMessage returns in's stored form.
func encodeQueueMessage(in picoclaw.Inbound) ([]byte, error) {
	kind, err := in.Chat.Kind.MarshalText()
	if err != nil {
		return nil, fmt.Errorf("chat_kind: %w", err)
	}
	m := queueMessage{
		V: queueWireVersion, Channel: in.Channel, ChatKind: string(kind), ChatID: in.Chat.ID,
		SenderID: in.SenderID, SenderName: in.SenderName, MessageID: in.MessageID, Text: in.Text,
		Received: in.Received, Session: string(in.Session), Route: in.Route,
	}
	for _, a := range in.Attachments {
		m.Attachments = append(m.Attachments, queueAttachment(a))
	}
	return json.Marshal(m)
}

// decodeQueueMessage reads a stored message.
func decodeQueueMessage(data []byte) (picoclaw.Inbound, error) {
	var m queueMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return picoclaw.Inbound{}, fmt.Errorf("decode inbox message: %w", err)
	}
	if m.V != queueWireVersion {
		return picoclaw.Inbound{}, fmt.Errorf("decode inbox message: version %d, expected %d (written by a newer gateway?)", m.V, queueWireVersion)
	}
	var kind picoclaw.ChatKind
	switch m.ChatKind {
	case "direct":
		kind = picoclaw.ChatDirect
	case "group":
		kind = picoclaw.ChatGroup
	case "":
	default:
		return picoclaw.Inbound{}, fmt.Errorf("decode inbox message: chat_kind %q, expected \"direct\" or \"group\"", m.ChatKind)
	}
	in := picoclaw.Inbound{
		Channel: m.Channel, Chat: picoclaw.Peer{Kind: kind, ID: m.ChatID},
		SenderID: m.SenderID, SenderName: m.SenderName, MessageID: m.MessageID, Text: m.Text,
		Received: m.Received, Session: picoclaw.SessionKey(m.Session), Route: m.Route,
	}
	for _, a := range m.Attachments {
		in.Attachments = append(in.Attachments, picoclaw.Attachment(a))
	}
	return in, nil
}

// queueToken makes s safe as one subject token or KV key segment: NATS
// tokens must not hold '.', '*', '>' or spaces, and ids are opaque.
func queueToken(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// queuePartition is the partition of a session key: FNV-1a 32 of the key
// modulo the partition count, the same on every gateway.
func queuePartition(key picoclaw.SessionKey, partitions int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(partitions))
}
