package stream

import (
	"encoding/json"
	"strings"
)

// Ack data documents.
const (
	ackDataCallback = `{"response":null}`
	ackDataEventOK  = `{"status":"SUCCESS"}`
	ackDataEventNo  = `{"status":"LATER"}`
)

// frameResult is what the reader does after one frame.
type frameResult struct {
	ack        []byte // nil: nothing to send
	valid      bool   // a well-formed frame (counts as proof of a healthy socket)
	disconnect bool   // the server asked us to reconnect
}

// wireFrame decodes headers loosely: the docs call some values numbers
// ("time"), so a non-string value must not reject the whole frame.
type wireFrame struct {
	SpecVersion string                     `json:"specVersion"`
	Type        string                     `json:"type"`
	Headers     map[string]json.RawMessage `json:"headers"`
	Data        json.RawMessage            `json:"data"`
}

// decodeFrame parses raw into a Frame; header values and data that are not
// strings keep their JSON text.
func decodeFrame(raw []byte) (*Frame, error) {
	var w wireFrame
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, err
	}
	f := &Frame{SpecVersion: w.SpecVersion, Type: w.Type, Headers: make(map[string]string, len(w.Headers))}
	for k, v := range w.Headers {
		f.Headers[k] = jsonText(v)
	}
	f.Data = jsonText(w.Data)
	return f, nil
}

func jsonText(v json.RawMessage) string {
	if s, ok := plainString(v); ok {
		return s
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if t := strings.TrimSpace(string(v)); t != "null" {
		return t
	}
	return ""
}

// plainString decodes a JSON string of printable ASCII without escapes,
// what nearly every header value is, without json.Unmarshal's validation
// pass and reflection (a dozen values per frame). Anything else is left to
// json.Unmarshal, which decodes it the same way.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	body := v[1 : len(v)-1]
	for _, c := range body {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return "", false
		}
	}
	return string(body), true
}

// handleFrame decodes one downstream frame, dispatches it and builds its
// ack. It never panics, whatever the bytes (see FuzzFrame), and recovers a
// panicking handler into a 500 ack.
func (s *Client) handleFrame(raw []byte) frameResult {
	f, err := decodeFrame(raw)
	if err != nil {
		s.log.Warn("dingtalk stream: undecodable frame", "len", len(raw), "err", err)
		return frameResult{}
	}
	res := frameResult{valid: true}
	code, data := AckOK, ""
	switch f.Type {
	case TypeSystem:
		switch f.Topic() {
		case TopicPing:
			data = f.Data // echo the opaque payload unchanged
		case TopicDisconnect:
			s.log.Info("dingtalk stream: server asked to reconnect", "reason", disconnectReason(f.Data))
			res.disconnect, res.valid = true, false
		default:
			s.log.Debug("dingtalk stream: unknown system frame", "topic", f.Topic())
		}
	case TypeCallback:
		code = s.callHandler(f)
		data = ackDataCallback
	case TypeEvent:
		code = s.callHandler(f)
		data = ackDataEventOK
		if code != AckOK {
			data = ackDataEventNo
		}
	default:
		s.log.Warn("dingtalk stream: unknown frame type", "type", f.Type, "topic", f.Topic())
		code = AckNotFound
	}
	if id := f.MessageID(); id != "" {
		res.ack = encodeAck(id, code, data)
	}
	return res
}

func (s *Client) callHandler(f *Frame) (code int) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("dingtalk stream: frame handler panicked", "topic", f.Topic(), "panic", r)
			code = AckFailed
		}
	}()
	return s.cfg.Handler(f)
}

func encodeAck(messageID string, code int, data string) []byte {
	msg := "OK"
	if code != AckOK {
		msg = "failed"
	}
	b, _ := json.Marshal(ackFrame{ // strings and an int: cannot fail
		Code:    code,
		Headers: map[string]string{"messageId": messageID, "contentType": "application/json"},
		Message: msg,
		Data:    data,
	})
	return b
}

func disconnectReason(data string) string {
	var d struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal([]byte(data), &d) != nil {
		return ""
	}
	return d.Reason
}
