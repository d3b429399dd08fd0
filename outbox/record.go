package outbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"picoclaw"
)

// version is the record format written; decode accepts it and refuses
// newer ones rather than guess at their meaning.
const version = 1

// Record operations.
const (
	opPut  = "put"  // an answer to deliver
	opSent = "sent" // Parts parts of answer ID were accepted
	opDone = "done" // answer ID was delivered in full
	opDrop = "drop" // answer ID failed for good (Reason says why)
)

// record is one line of outbox.jsonl or dead.jsonl. Its JSON names are the
// file format: renaming a Go field must not change them.
type record struct {
	V      int       `json:"v"`
	Op     string    `json:"op"`
	ID     uint64    `json:"id"`
	At     time.Time `json:"at"`
	Out    *wireOut  `json:"out,omitempty"`
	Parts  int       `json:"parts,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

// wireOut is picoclaw.Outbound as stored: kinds are words, not numbers.
type wireOut struct {
	Channel  string `json:"channel"`
	ChatKind string `json:"chat_kind"` // "direct" or "group"
	ChatID   string `json:"chat_id"`
	Kind     string `json:"kind"` // "answer" or "reasoning"
	Text     string `json:"text"`
	ReplyTo  string `json:"reply_to,omitempty"`
	SenderID string `json:"sender_id,omitempty"`
	Streamed bool   `json:"streamed,omitempty"`
}

func toWire(out picoclaw.Outbound) (*wireOut, error) {
	w := &wireOut{Channel: out.Channel, ChatID: out.Chat.ID, Text: out.Text, ReplyTo: out.ReplyTo, SenderID: out.SenderID,
		Streamed: out.Streamed}
	kind, err := out.Chat.Kind.MarshalText()
	if err != nil || len(kind) == 0 {
		return nil, fmt.Errorf("chat kind %d is neither direct nor group", out.Chat.Kind)
	}
	w.ChatKind = string(kind)
	switch out.Kind {
	case picoclaw.OutAnswer:
		w.Kind = "answer"
	case picoclaw.OutReasoning:
		w.Kind = "reasoning"
	default:
		return nil, fmt.Errorf("outbound kind %d is neither answer nor reasoning", out.Kind)
	}
	return w, nil
}

func (w *wireOut) outbound() (picoclaw.Outbound, error) {
	out := picoclaw.Outbound{Channel: w.Channel, Chat: picoclaw.Peer{ID: w.ChatID}, Text: w.Text, ReplyTo: w.ReplyTo,
		SenderID: w.SenderID, Streamed: w.Streamed}
	if err := out.Chat.Kind.UnmarshalText([]byte(w.ChatKind)); err != nil || out.Chat.Kind == 0 {
		return out, fmt.Errorf("out.chat_kind %q: want \"direct\" or \"group\"", w.ChatKind)
	}
	switch w.Kind {
	case "answer":
		out.Kind = picoclaw.OutAnswer
	case "reasoning":
		out.Kind = picoclaw.OutReasoning
	default:
		return out, fmt.Errorf("out.kind %q: want \"answer\" or \"reasoning\"", w.Kind)
	}
	if w.Channel == "" || w.ChatID == "" {
		return out, errors.New("out: channel and chat_id are required")
	}
	return out, nil
}

// decodeRecord parses and checks one line. Every error names what was
// wrong and what was expected.
func decodeRecord(line []byte) (record, error) {
	var r record
	dec := json.NewDecoder(bytes.NewReader(line))
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("outbox record is not JSON: %w", err)
	}
	if dec.More() {
		return r, errors.New("outbox record: trailing data after the JSON object")
	}
	switch {
	case r.V < 1:
		return r, fmt.Errorf("outbox record: field v is %d, want a version ≥ 1", r.V)
	case r.V > version:
		return r, fmt.Errorf("outbox record: version %d is newer than this build understands (%d); upgrade picoclaw", r.V, version)
	case r.ID == 0:
		return r, errors.New("outbox record: field id is missing or 0")
	}
	switch r.Op {
	case opPut:
		if r.Out == nil {
			return r, fmt.Errorf("outbox record %d: put without field out", r.ID)
		}
		if _, err := r.Out.outbound(); err != nil {
			return r, fmt.Errorf("outbox record %d: %w", r.ID, err)
		}
	case opSent:
		if r.Parts < 1 {
			return r, fmt.Errorf("outbox record %d: sent with parts %d, want ≥ 1", r.ID, r.Parts)
		}
	case opDone, opDrop:
	default:
		return r, fmt.Errorf("outbox record %d: op %q, want put, sent, done or drop", r.ID, r.Op)
	}
	return r, nil
}

// encodeRecord writes r as one line, without HTML escaping (answers are
// markdown full of < > &).
func encodeRecord(buf *bytes.Buffer, r *record) error {
	r.V = version
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode outbox record: %w", err)
	}
	return nil
}
