package openapi

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"picoclaw"
)

// AI card calls (card_1_0): createAndDeliver puts a card instance from a
// template into a chat, and card/streaming fills one of its variables in
// as the model writes. Bodies follow DingTalk's card_1_0 SDK models and
// the official connectors: cardParamMap values are strings, callbackType
// STREAM routes the card's button callbacks over the Stream connection.
const (
	cardCreateAndDeliverPath = "/v1.0/card/instances/createAndDeliver"
	cardStreamingPath        = "/v1.0/card/streaming"
)

// Permissions the card calls need; a missing one is named in the fix.
const (
	CardInstanceScope  = "Card.Instance.Write"
	CardStreamingScope = "Card.Streaming.Write"
)

// CardSpace is where a card goes: a user's single chat with the robot
// (by staff id) or a group (by openConversationId).
type CardSpace struct {
	Group bool
	ID    string // staffId, or the group's conversationId
}

// OpenSpaceID is DingTalk's name of the space:
// dtv1.card//IM_ROBOT.<staffId> or dtv1.card//IM_GROUP.<conversationId>.
func (s CardSpace) OpenSpaceID() string {
	if s.Group {
		return "dtv1.card//IM_GROUP." + s.ID
	}
	return "dtv1.card//IM_ROBOT." + s.ID
}

// Card is one card instance to create.
type Card struct {
	TemplateID string
	OutTrackID string // the caller's id of the instance, used by every later call
	Space      CardSpace
	Data       map[string]string // cardParamMap: the template's variables
}

type cardSpaceModel struct {
	SupportForward bool `json:"supportForward"`
}

type cardDeliverModel struct {
	RobotCode string `json:"robotCode"`
	SpaceType string `json:"spaceType,omitempty"`
}

type createCardRequest struct {
	CardTemplateID string `json:"cardTemplateId"`
	OutTrackID     string `json:"outTrackId"`
	CallbackType   string `json:"callbackType"`
	UserIDType     int    `json:"userIdType"` // 1: staff ids
	OpenSpaceID    string `json:"openSpaceId"`
	CardData       struct {
		CardParamMap map[string]string `json:"cardParamMap"`
	} `json:"cardData"`
	ImRobotOpenSpaceModel   *cardSpaceModel   `json:"imRobotOpenSpaceModel,omitempty"`
	ImGroupOpenSpaceModel   *cardSpaceModel   `json:"imGroupOpenSpaceModel,omitempty"`
	ImRobotOpenDeliverModel *cardDeliverModel `json:"imRobotOpenDeliverModel,omitempty"`
	ImGroupOpenDeliverModel *cardDeliverModel `json:"imGroupOpenDeliverModel,omitempty"`
}

type createCardAnswer struct {
	Success *bool `json:"success"`
	Result  struct {
		OutTrackID     string `json:"outTrackId"`
		DeliverResults []struct {
			SpaceType string `json:"spaceType"`
			SpaceID   string `json:"spaceId"`
			Success   bool   `json:"success"`
			ErrorMsg  string `json:"errorMsg"`
		} `json:"deliverResults"`
	} `json:"result"`
}

// CreateCard creates c and delivers it to its space. A card DingTalk
// accepted but could not deliver is an error naming the reason. QPS
// throttling is waited out like on every other call; a missing
// permission is picoclaw.ErrAuth (the message names the scope).
func (a *Client) CreateCard(ctx context.Context, c Card) error {
	const op = "create card"
	switch {
	case c.TemplateID == "" || c.OutTrackID == "":
		return errors.New("dingtalk: " + op + ": need a card template id and an outTrackId")
	case c.Space.ID == "":
		return errors.New("dingtalk: " + op + ": need the staff id or conversation id of the chat")
	}
	in := createCardRequest{CardTemplateID: c.TemplateID, OutTrackID: c.OutTrackID, CallbackType: "STREAM",
		UserIDType: 1, OpenSpaceID: c.Space.OpenSpaceID()}
	in.CardData.CardParamMap = c.Data
	if in.CardData.CardParamMap == nil {
		in.CardData.CardParamMap = map[string]string{}
	}
	if c.Space.Group {
		in.ImGroupOpenSpaceModel = &cardSpaceModel{SupportForward: true}
		in.ImGroupOpenDeliverModel = &cardDeliverModel{RobotCode: a.cfg.RobotCode}
	} else {
		in.ImRobotOpenSpaceModel = &cardSpaceModel{SupportForward: true}
		in.ImRobotOpenDeliverModel = &cardDeliverModel{RobotCode: a.cfg.RobotCode, SpaceType: "IM_ROBOT"}
	}
	var out createCardAnswer
	err := a.withRetry(ctx, op, true, func(token string) error {
		out = createCardAnswer{}
		return a.postJSON(ctx, cardCreateAndDeliverPath, token, in, &out)
	})
	if err != nil {
		return err
	}
	if out.Success != nil && !*out.Success {
		return fmt.Errorf("dingtalk: %s: %w: answer says success false", op, picoclaw.ErrBadResponse)
	}
	var failed []string
	for _, d := range out.Result.DeliverResults {
		if !d.Success {
			failed = append(failed, d.SpaceType+": "+a.snippet([]byte(d.ErrorMsg), ""))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("dingtalk: %s: card not delivered (%s)", op, strings.Join(failed, "; "))
	}
	return nil
}

// CardUpdate is one streaming update of a card variable.
type CardUpdate struct {
	OutTrackID string
	Key        string // the template's streaming variable
	Content    string
	Full       bool // Content replaces the variable; else it is appended
	Finalize   bool // the last update: the card leaves its typing state
	Failed     bool // the card ends in its error state
}

type streamCardRequest struct {
	OutTrackID string `json:"outTrackId"`
	GUID       string `json:"guid"`
	Key        string `json:"key"`
	Content    string `json:"content"`
	IsFull     bool   `json:"isFull"`
	IsFinalize bool   `json:"isFinalize"`
	IsError    bool   `json:"isError"`
}

// StreamCard sends u. Each call carries a new guid, which DingTalk uses
// to drop a duplicate of the same update; a retry after a lost answer
// reuses it for that reason.
func (a *Client) StreamCard(ctx context.Context, u CardUpdate) error {
	const op = "stream card"
	if u.OutTrackID == "" || u.Key == "" {
		return errors.New("dingtalk: " + op + ": need the card's outTrackId and the variable key")
	}
	in := streamCardRequest{OutTrackID: u.OutTrackID, GUID: rand.Text(), Key: u.Key, Content: u.Content,
		IsFull: u.Full, IsFinalize: u.Finalize, IsError: u.Failed}
	return a.withRetry(ctx, op, true, func(token string) error {
		return a.sendJSON(ctx, http.MethodPut, cardStreamingPath, token, in, nil)
	})
}
