package dingtalktest

import (
	"encoding/json"
	"strconv"
	"time"
)

// TopicBotMessage is the CALLBACK topic of bot messages.
const TopicBotMessage = "/v1.0/im/bot/messages/get"

// frame is a downstream frame as the real gateway writes it. The fake keeps
// its own copy of the shape (it must not import package dingtalk, whose
// tests import this package); wire_test.go pins it to the fixtures.
type frame struct {
	SpecVersion string            `json:"specVersion,omitempty"`
	Type        string            `json:"type"`
	Headers     map[string]string `json:"headers"` // marshalled in key order, as logged
	Data        string            `json:"data"`
}

func (f frame) encode() []byte {
	b, _ := json.Marshal(f) // strings only: cannot fail
	return b
}

// callbackFrame builds a CALLBACK frame for conn with a fresh messageId.
func (s *Server) callbackFrame(connID, topic, data string) (frame, string) {
	id := newMessageID(s.nextSeq())
	return frame{SpecVersion: "1.0", Type: "CALLBACK", Data: data, Headers: map[string]string{
		"appId":        s.AppID,
		"connectionId": connID,
		"contentType":  "application/json",
		"messageId":    id,
		"time":         strconv.FormatInt(time.Now().UnixMilli(), 10),
		"topic":        topic,
	}}, id
}
