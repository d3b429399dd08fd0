package inbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"picoclaw"
)

// wireVersion is the version of the journal records this build writes.
// Version 0 (no "v" field) is the format before the journal had its own
// wire types: the message was picoclaw.Inbound encoded with its Go field
// names and the chat kind as a number. Replay reads both.
const wireVersion = 1

// Journal operations.
const (
	opAccept  = "accept"
	opDone    = "done"
	opAttempt = "attempt"
	opRelease = "release"
)

// record is one journal line as the inbox uses it.
type record struct {
	Op string
	ID string
	At time.Time
	In *picoclaw.Inbound // accept only
	// Attempts carries a pending message's turn attempts through a
	// compaction (accept records only).
	Attempts int
}

// wireRecord is one journal line on disk. Its field names are the file
// format: renaming a Go field elsewhere never changes what is written.
type wireRecord struct {
	V        int             `json:"v"`
	Op       string          `json:"op"`
	ID       string          `json:"id"`
	At       time.Time       `json:"at"`
	In       json.RawMessage `json:"in,omitempty"`
	Attempts int             `json:"attempts,omitempty"`
}

// wireMessage is an accepted message on disk (version 1).
type wireMessage struct {
	Channel     string           `json:"channel"`
	ChatKind    string           `json:"chat_kind"` // "direct", "group", or "" when unset
	ChatID      string           `json:"chat_id"`
	SenderID    string           `json:"sender_id,omitempty"`
	SenderName  string           `json:"sender_name,omitempty"`
	MessageID   string           `json:"message_id"`
	Text        string           `json:"text"`
	Attachments []wireAttachment `json:"attachments,omitempty"`
	Received    time.Time        `json:"received,omitzero"`
	Session     string           `json:"session,omitempty"`
}

type wireAttachment struct {
	Kind     string `json:"kind"`
	Name     string `json:"name,omitempty"`
	MIMEType string `json:"mime_type,omitempty"`
	Path     string `json:"path,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Data     []byte `json:"data,omitempty"`
	Ref      string `json:"ref,omitempty"`
	Note     string `json:"note,omitempty"`
}

// legacyMessage is picoclaw.Inbound as version 0 wrote it, frozen here so
// that later changes to Inbound cannot break reading old journals.
type legacyMessage struct {
	Channel string `json:"Channel"`
	Chat    struct {
		Kind int    `json:"Kind"`
		ID   string `json:"ID"`
	} `json:"Chat"`
	SenderID    string `json:"SenderID"`
	SenderName  string `json:"SenderName"`
	MessageID   string `json:"MessageID"`
	Text        string `json:"Text"`
	Attachments []struct {
		Kind     string `json:"Kind"`
		Name     string `json:"Name"`
		MIMEType string `json:"MIMEType"`
		Path     string `json:"Path"`
		Size     int64  `json:"Size"`
		Data     []byte `json:"Data"`
		Ref      string `json:"ref"`
		Note     string `json:"note"`
	} `json:"Attachments"`
	Received time.Time `json:"Received"`
	Session  string    `json:"Session"`
}

// newEncoder returns the JSON encoder of journal lines; HTML escaping
// would only make users' text harder to read.
func newEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// toWire converts r to its on-disk form.
func toWire(r *record) (*wireRecord, error) {
	w := &wireRecord{V: wireVersion, Op: r.Op, ID: r.ID, At: r.At, Attempts: r.Attempts}
	if r.In == nil {
		return w, nil
	}
	in := r.In
	kind, err := in.Chat.Kind.MarshalText()
	if err != nil {
		return nil, fmt.Errorf("chat_kind: %w", err)
	}
	m := wireMessage{
		Channel: in.Channel, ChatKind: string(kind), ChatID: in.Chat.ID,
		SenderID: in.SenderID, SenderName: in.SenderName, MessageID: in.MessageID,
		Text: in.Text, Received: in.Received, Session: string(in.Session),
	}
	for _, a := range in.Attachments {
		m.Attachments = append(m.Attachments, wireAttachment{
			Kind: a.Kind, Name: a.Name, MIMEType: a.MIMEType, Path: a.Path,
			Size: a.Size, Data: a.Data, Ref: a.Ref, Note: a.Note,
		})
	}
	if w.In, err = json.Marshal(&m); err != nil {
		return nil, err
	}
	return w, nil
}

// decodeRecord parses one journal line of any version this build reads.
func decodeRecord(line []byte) (record, error) {
	var w wireRecord
	if err := json.Unmarshal(line, &w); err != nil {
		return record{}, err
	}
	if w.V < 0 || w.V > wireVersion {
		return record{}, fmt.Errorf("record version %d: this build reads versions 0 to %d", w.V, wireVersion)
	}
	r := record{Op: w.Op, ID: w.ID, At: w.At, Attempts: w.Attempts}
	if w.Attempts < 0 {
		return record{}, fmt.Errorf("attempts %d: must not be negative", w.Attempts)
	}
	if len(w.In) == 0 || string(w.In) == "null" {
		return r, nil
	}
	var (
		in  picoclaw.Inbound
		err error
	)
	if w.V == 0 {
		in, err = decodeLegacy(w.In)
	} else {
		in, err = decodeMessage(w.In)
	}
	if err != nil {
		return record{}, fmt.Errorf("message: %w", err)
	}
	r.In = &in
	return r, nil
}

func decodeMessage(raw json.RawMessage) (picoclaw.Inbound, error) {
	var m wireMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return picoclaw.Inbound{}, err
	}
	var kind picoclaw.ChatKind
	if err := kind.UnmarshalText([]byte(m.ChatKind)); err != nil {
		return picoclaw.Inbound{}, fmt.Errorf(`chat_kind %q: expected "direct" or "group"`, m.ChatKind)
	}
	in := picoclaw.Inbound{
		Channel: m.Channel, Chat: picoclaw.Peer{Kind: kind, ID: m.ChatID},
		SenderID: m.SenderID, SenderName: m.SenderName, MessageID: m.MessageID,
		Text: m.Text, Received: m.Received, Session: picoclaw.SessionKey(m.Session),
	}
	for _, a := range m.Attachments {
		in.Attachments = append(in.Attachments, picoclaw.Attachment{
			Kind: a.Kind, Name: a.Name, MIMEType: a.MIMEType, Path: a.Path,
			Size: a.Size, Data: a.Data, Ref: a.Ref, Note: a.Note,
		})
	}
	return in, nil
}

func decodeLegacy(raw json.RawMessage) (picoclaw.Inbound, error) {
	var m legacyMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return picoclaw.Inbound{}, err
	}
	kind := picoclaw.ChatKind(m.Chat.Kind)
	if _, err := kind.MarshalText(); err != nil {
		return picoclaw.Inbound{}, errors.New("Chat.Kind: expected 1 (direct) or 2 (group)")
	}
	in := picoclaw.Inbound{
		Channel: m.Channel, Chat: picoclaw.Peer{Kind: kind, ID: m.Chat.ID},
		SenderID: m.SenderID, SenderName: m.SenderName, MessageID: m.MessageID,
		Text: m.Text, Received: m.Received, Session: picoclaw.SessionKey(m.Session),
	}
	for _, a := range m.Attachments {
		in.Attachments = append(in.Attachments, picoclaw.Attachment{
			Kind: a.Kind, Name: a.Name, MIMEType: a.MIMEType, Path: a.Path,
			Size: a.Size, Data: a.Data, Ref: a.Ref, Note: a.Note,
		})
	}
	return in, nil
}
