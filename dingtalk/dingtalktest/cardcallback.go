package dingtalktest

import (
	"encoding/json"
	"fmt"
)

// TopicCardCallback is the CALLBACK topic of AI card button presses.
const TopicCardCallback = "/v1.0/card/instances/callback"

// CardCallback is one press of a card button, as DingTalk pushes it on
// TopicCardCallback: the card (OutTrackID), who pressed (UserID, a staff
// id), where (SpaceID, SpaceType "IM_GROUP" or "IM_ROBOT"), and the
// button's action ids and params, which DingTalk sends as the JSON string
// content {"cardPrivateData":{"actionIds":[…],"params":{…}}}.
type CardCallback struct {
	OutTrackID string
	UserID     string
	SpaceID    string
	SpaceType  string
	ActionIDs  []string
	Params     map[string]any
	// App is the client id of the app whose card was pressed: the press
	// goes down that app's socket. "" means the most recent of any app.
	App string
}

type cardCallbackData struct {
	OutTrackID string `json:"outTrackId"`
	UserID     string `json:"userId"`
	SpaceID    string `json:"spaceId,omitempty"`
	SpaceType  string `json:"spaceType,omitempty"`
	CorpID     string `json:"corpId"`
	Type       string `json:"type"`
	Content    string `json:"content"`
}

// PushCardCallback sends cb as a CALLBACK frame on TopicCardCallback on the
// most recent live socket (of cb.App, when set); its ack is recorded like any other (WaitAck
// with the returned MessageID).
func (s *Server) PushCardCallback(cb CardCallback) (Pushed, error) {
	c, err := s.liveFor(cb.App)
	if err != nil {
		return Pushed{}, err
	}
	params := cb.Params
	if params == nil {
		params = map[string]any{}
	}
	content, err := json.Marshal(map[string]any{"cardPrivateData": map[string]any{"actionIds": cb.ActionIDs, "params": params}})
	if err != nil {
		return Pushed{}, fmt.Errorf("dingtalktest: encode card callback content: %w", err)
	}
	raw, err := json.Marshal(cardCallbackData{OutTrackID: cb.OutTrackID, UserID: cb.UserID, SpaceID: cb.SpaceID,
		SpaceType: cb.SpaceType, CorpID: "dingcorp0000", Type: "actionCallback", Content: string(content)})
	if err != nil {
		return Pushed{}, fmt.Errorf("dingtalktest: encode card callback: %w", err)
	}
	f, id := s.callbackFrame(c.info.ID, TopicCardCallback, string(raw))
	p := Pushed{Data: string(raw), MessageID: id, ConnectionID: c.info.ID, Frame: f.encode(), App: cb.App}
	return p, c.send(p.Frame)
}
