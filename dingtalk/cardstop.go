package dingtalk

import (
	"encoding/json"
	"fmt"
	"slices"

	"picoclaw"
	"picoclaw/dingtalk/stream"
)

// The stop button of a streaming AI card. DingTalk pushes a press over
// the same Stream connection as a CALLBACK on stream.TopicCardCallback;
// its data names the card (outTrackId), who pressed (userId) and the
// button's action ids (in content, a JSON string
// {"cardPrivateData":{"actionIds":[…],"params":{…}}}).
//
// Template assumption: the card template has a button whose callback
// action id is CardStopActionID, shown while CardStopShowKey is "true"
// (set when the card is created). A template without such a button works
// as before; a press that comes after the card ended finds no card and is
// ignored.
const (
	// CardStopActionID is the stop button's action id.
	CardStopActionID = "stop"
	// CardStopShowKey is the card variable that shows the stop button.
	CardStopShowKey = "showStopButton"
	// stopText is what a press hands the agent: the same as typing /stop.
	stopText = "/stop"
)

// cardCallback is the data of a card callback frame (only what is used).
type cardCallback struct {
	OutTrackID string `json:"outTrackId"`
	UserID     string `json:"userId"`
	Content    string `json:"content"`
}

type cardCallbackContent struct {
	CardPrivateData struct {
		ActionIDs []string `json:"actionIds"`
	} `json:"cardPrivateData"`
}

func parseCardCallback(data []byte) (cardCallback, []string, error) {
	var cb cardCallback
	if err := json.Unmarshal(data, &cb); err != nil {
		return cb, nil, fmt.Errorf("decode card callback: %w", err)
	}
	if cb.OutTrackID == "" || cb.UserID == "" {
		return cb, nil, fmt.Errorf("decode card callback: want outTrackId and userId, got %q and %q", cb.OutTrackID, cb.UserID)
	}
	var content cardCallbackContent
	if cb.Content != "" {
		if err := json.Unmarshal([]byte(cb.Content), &content); err != nil {
			return cb, nil, fmt.Errorf("decode card callback content: %w", err)
		}
	}
	return cb, content.CardPrivateData.ActionIDs, nil
}

// onCardCallback handles a card button press. It is acked 200 at once
// (DingTalk waits only briefly, and redelivers what is not acked): the
// stop itself is handed to handle as a "/stop" of the card's chat, which
// the dispatcher acts on without waiting for the turn. Only the chat's
// own members may stop: in a direct chat the card's user, in a group a
// sender the group's policy (allow_from) lets use the bot.
func (c *Channel) onCardCallback(f *stream.Frame, handle func(picoclaw.Inbound)) int {
	if id := f.MessageID(); id != "" && c.dedup.Seen("frame:"+id) {
		return stream.AckOK
	}
	cb, actions, err := parseCardCallback([]byte(f.Data))
	if err != nil {
		c.log.Warn("dingtalk: dropping malformed card callback", "message_id", f.MessageID(), "err", err)
		return stream.AckOK
	}
	if !slices.Contains(actions, CardStopActionID) {
		c.log.Debug("dingtalk: card callback without a known action", "out_track_id", cb.OutTrackID, "actions", actions)
		return stream.AckOK
	}
	s := c.cardByTrack(cb.OutTrackID)
	if s == nil {
		c.log.Info("dingtalk: stop pressed on a card no longer streaming", "out_track_id", cb.OutTrackID)
		return stream.AckOK
	}
	if !c.mayStop(s.chat, cb.UserID) {
		c.log.Warn("dingtalk: stop refused: the presser is not a member allowed in this chat",
			"out_track_id", cb.OutTrackID, "user_id", cb.UserID)
		return stream.AckOK
	}
	c.log.Info("dingtalk: stop button pressed", "out_track_id", cb.OutTrackID, "reply_to", s.msgID, "user_id", cb.UserID)
	handle(picoclaw.Inbound{
		Channel:   c.name,
		Chat:      s.chat,
		SenderID:  cb.UserID,
		MessageID: "cardstop-" + f.MessageID(),
		Text:      stopText,
		Received:  c.now(),
	})
	return stream.AckOK
}

// mayStop reports whether user may stop a turn of chat.
func (c *Channel) mayStop(chat picoclaw.Peer, user string) bool {
	if chat.Kind != picoclaw.ChatGroup {
		return user == chat.ID
	}
	m := &botMessage{ConversationType: conversationGroup, ConversationID: chat.ID, SenderStaffID: user}
	return c.policy.Answers(m) && c.policy.Allowed(m)
}

// cardByTrack returns the streaming card with outTrackId track, if any.
func (c *Channel) cardByTrack(track string) *cardStream {
	c.cards.mu.Lock()
	defer c.cards.mu.Unlock()
	for _, s := range c.cards.byMsg {
		if s.track == track {
			return s
		}
	}
	return nil
}
