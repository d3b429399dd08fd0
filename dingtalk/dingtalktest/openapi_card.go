package dingtalktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// AI card paths (card_1_0).
const (
	CardCreatePath    = "/v1.0/card/instances/createAndDeliver"
	CardStreamingPath = "/v1.0/card/streaming"
)

// CardCreated is one card accepted by createAndDeliver.
type CardCreated struct {
	TemplateID, OutTrackID, OpenSpaceID, RobotCode, CallbackType string
	Data                                                         map[string]string // cardParamMap
}

// CardStreamCall is one accepted streaming update.
type CardStreamCall struct {
	OutTrackID, GUID, Key, Content string
	Full, Finalize, Error          bool
}

// cardState is the fake's card bookkeeping, inside openAPIState.
type cardState struct {
	templates map[string]bool
	created   []CardCreated
	byTrack   map[string]*cardInstance
	updates   []CardStreamCall
	guids     map[string]bool
}

type cardInstance struct {
	finalized bool
	content   map[string]string // streamed variables, as the user sees them
}

func newCardState() cardState {
	return cardState{templates: map[string]bool{}, byTrack: map[string]*cardInstance{}, guids: map[string]bool{}}
}

// AddCardTemplate makes id a template of the app's tenant; createAndDeliver
// with any other template id fails as DingTalk does for a missing one.
func (s *Server) AddCardTemplate(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oa.cards.templates[id] = true
}

// PermissionDeniedBody is DingTalk's 403 answer for an app lacking the
// scope (e.g. "Card.Streaming.Write"); pass it to FailOpenAPI. A 403
// without a body is QPS throttling (Forbidden.AccessDenied.QpsLimitForApi).
func PermissionDeniedBody(scope string) string {
	b, _ := json.Marshal(map[string]any{
		"code":               "Forbidden.AccessDenied.AccessTokenPermissionDenied",
		"requestid":          newRequestID(),
		"message":            "没有调用该接口的权限，接口权限申请参考：https://open.dingtalk.com/document/orgapp/add-api-permission",
		"accessdenieddetail": map[string]any{"requiredScopes": []string{scope}},
	})
	return string(b)
}

type cardCreateBody struct {
	CardTemplateID string `json:"cardTemplateId"`
	OutTrackID     string `json:"outTrackId"`
	CallbackType   string `json:"callbackType"`
	OpenSpaceID    string `json:"openSpaceId"`
	CardData       *struct {
		CardParamMap map[string]any `json:"cardParamMap"`
	} `json:"cardData"`
	ImRobotOpenSpaceModel   json.RawMessage `json:"imRobotOpenSpaceModel"`
	ImGroupOpenSpaceModel   json.RawMessage `json:"imGroupOpenSpaceModel"`
	ImRobotOpenDeliverModel *struct {
		RobotCode string `json:"robotCode"`
		SpaceType string `json:"spaceType"`
	} `json:"imRobotOpenDeliverModel"`
	ImGroupOpenDeliverModel *struct {
		RobotCode string `json:"robotCode"`
	} `json:"imGroupOpenDeliverModel"`
}

// handleCardCreate checks what DingTalk documents: a known template,
// string card data, an openSpaceId of the IM_ROBOT or IM_GROUP shape
// with the matching space and deliver models, the robot code, a fresh
// outTrackId. The error codes for bad parameters are unverified (no
// public sample shows them); the success body follows the SDK model.
// Faults: FailOpenAPI(CardCreatePath, 403, PermissionDeniedBody(…), n).
func (s *Server) handleCardCreate(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec, ok := s.beginAPICall(w, r, CardCreatePath)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	fail := func(code, msg string) { s.refuseLocked(w, rec, code, msg) }
	var in cardCreateBody
	if err := json.Unmarshal(raw, &in); err != nil {
		fail("invalidParameter", "请求体不是合法的 JSON")
		return
	}
	data, bad := map[string]string{}, ""
	if in.CardData != nil {
		for k, v := range in.CardData.CardParamMap {
			sv, isString := v.(string)
			if !isString {
				bad = k
			}
			data[k] = sv
		}
	}
	spaceType, spaceID, _ := strings.Cut(strings.TrimPrefix(in.OpenSpaceID, "dtv1.card//"), ".")
	group := spaceType == "IM_GROUP"
	switch {
	case in.CardTemplateID == "" || in.OutTrackID == "" || in.CardData == nil:
		fail("MissingParameter", "缺少参数 cardTemplateId、outTrackId 或 cardData")
	case !s.oa.cards.templates[in.CardTemplateID]:
		fail("param.templateNotExist", "卡片模板不存在: "+in.CardTemplateID)
	case bad != "":
		fail("invalidParameter", "cardParamMap 的值必须是字符串: "+bad)
	case in.CallbackType != "STREAM" && in.CallbackType != "HTTP":
		fail("invalidParameter", "callbackType 不合法")
	case !strings.HasPrefix(in.OpenSpaceID, "dtv1.card//") || spaceID == "" || (spaceType != "IM_ROBOT" && !group):
		fail("invalidParameter", "openSpaceId 格式不正确")
	case group && (in.ImGroupOpenSpaceModel == nil || in.ImGroupOpenDeliverModel == nil ||
		in.ImGroupOpenDeliverModel.RobotCode != s.robotCodeForLocked(rec.App)):
		fail("invalidParameter", "群聊场域需要 imGroupOpenSpaceModel 和带 robotCode 的 imGroupOpenDeliverModel")
	case !group && (in.ImRobotOpenSpaceModel == nil || in.ImRobotOpenDeliverModel == nil ||
		in.ImRobotOpenDeliverModel.RobotCode != s.robotCodeForLocked(rec.App) || in.ImRobotOpenDeliverModel.SpaceType != "IM_ROBOT"):
		fail("invalidParameter", "单聊场域需要 imRobotOpenSpaceModel 和 spaceType 为 IM_ROBOT、带 robotCode 的 imRobotOpenDeliverModel")
	case s.oa.cards.byTrack[in.OutTrackID] != nil:
		fail("invalidParameter", "outTrackId 已存在")
	default:
		robot := ""
		if group {
			robot = in.ImGroupOpenDeliverModel.RobotCode
		} else {
			robot = in.ImRobotOpenDeliverModel.RobotCode
		}
		s.oa.cards.created = append(s.oa.cards.created, CardCreated{TemplateID: in.CardTemplateID,
			OutTrackID: in.OutTrackID, OpenSpaceID: in.OpenSpaceID, RobotCode: robot,
			CallbackType: in.CallbackType, Data: data})
		s.oa.cards.byTrack[in.OutTrackID] = &cardInstance{content: map[string]string{}}
		rec.Status = http.StatusOK
		s.recordLocked(rec)
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "result": map[string]any{
			"outTrackId": in.OutTrackID,
			"deliverResults": []map[string]any{{"spaceType": spaceType, "spaceId": spaceID,
				"success": true, "carrierId": randHex(16)}},
		}})
	}
}

// handleCardStreaming checks the update names a created card that is not
// finalized yet, a key, and a guid never used before. Rejecting updates
// after the final one is stricter than DingTalk is known to be: it
// catches a streamer that keeps writing after it finished.
func (s *Server) handleCardStreaming(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	rec, ok := s.beginAPICall(w, r, CardStreamingPath)
	if !ok {
		return
	}
	defer s.mu.Unlock()
	fail := func(code, msg string) { s.refuseLocked(w, rec, code, msg) }
	var in struct {
		OutTrackID string `json:"outTrackId"`
		GUID       string `json:"guid"`
		Key        string `json:"key"`
		Content    string `json:"content"`
		IsFull     bool   `json:"isFull"`
		IsFinalize bool   `json:"isFinalize"`
		IsError    bool   `json:"isError"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		fail("invalidParameter", "请求体不是合法的 JSON")
		return
	}
	card := s.oa.cards.byTrack[in.OutTrackID]
	switch {
	case in.OutTrackID == "" || in.GUID == "" || in.Key == "":
		fail("MissingParameter", "缺少参数 outTrackId、guid 或 key")
		return
	case card == nil:
		fail("param.cardNotExist", "卡片实例不存在: "+in.OutTrackID)
		return
	case s.oa.cards.guids[in.GUID]:
		fail("invalidParameter", "guid 重复")
		return
	case card.finalized:
		fail("invalidParameter", "卡片已结束流式更新")
		return
	}
	s.oa.cards.guids[in.GUID] = true
	if in.IsFull {
		card.content[in.Key] = in.Content
	} else {
		card.content[in.Key] += in.Content
	}
	card.finalized = in.IsFinalize || in.IsError
	s.oa.cards.updates = append(s.oa.cards.updates, CardStreamCall{OutTrackID: in.OutTrackID, GUID: in.GUID,
		Key: in.Key, Content: in.Content, Full: in.IsFull, Finalize: in.IsFinalize, Error: in.IsError})
	rec.Status = http.StatusOK
	s.recordLocked(rec)
	writeJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// CardsCreated returns every card accepted, in order.
func (s *Server) CardsCreated() []CardCreated {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CardCreated(nil), s.oa.cards.created...)
}

// CardUpdates returns every streaming update accepted, in order.
func (s *Server) CardUpdates() []CardStreamCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CardStreamCall(nil), s.oa.cards.updates...)
}

// CardUpdateCount is the number of streaming updates accepted so far.
func (s *Server) CardUpdateCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.oa.cards.updates)
}

// WaitCardUpdatesFrom waits until more than from streaming updates were
// accepted and returns those after the first from, in order: a reader
// that keeps up with many updates (a load test) copies each once.
func (s *Server) WaitCardUpdatesFrom(ctx context.Context, from int) ([]CardStreamCall, error) {
	var out []CardStreamCall
	err := s.waitFor(ctx, func() bool {
		if len(s.oa.cards.updates) <= from {
			return false
		}
		out = append([]CardStreamCall(nil), s.oa.cards.updates[max(from, 0):]...)
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("dingtalktest: wait for card updates after %d: %w", from, err)
	}
	return out, nil
}

// CardContent is what a card's streamed variable key shows now, and
// whether the card finished streaming.
func (s *Server) CardContent(outTrackID, key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.oa.cards.byTrack[outTrackID]
	if c == nil {
		return "", false
	}
	return c.content[key], c.finalized
}

// WaitCardFinalized waits until the card outTrackID finished streaming.
func (s *Server) WaitCardFinalized(ctx context.Context, outTrackID string) error {
	if err := s.waitFor(ctx, func() bool {
		c := s.oa.cards.byTrack[outTrackID]
		return c != nil && c.finalized
	}); err != nil {
		return fmt.Errorf("dingtalktest: wait for card %s to finish: %w", outTrackID, err)
	}
	return nil
}

// WaitCardsCreated waits until at least n cards were created and returns them.
func (s *Server) WaitCardsCreated(ctx context.Context, n int) ([]CardCreated, error) {
	if err := s.waitFor(ctx, func() bool { return len(s.oa.cards.created) >= n }); err != nil {
		return nil, fmt.Errorf("dingtalktest: wait for %d cards: %w", n, err)
	}
	return s.CardsCreated(), nil
}

// WaitCardUpdates waits until at least n streaming updates were accepted
// and returns them.
func (s *Server) WaitCardUpdates(ctx context.Context, n int) ([]CardStreamCall, error) {
	if err := s.waitFor(ctx, func() bool { return len(s.oa.cards.updates) >= n }); err != nil {
		return nil, fmt.Errorf("dingtalktest: wait for %d card updates: %w", n, err)
	}
	return s.CardUpdates(), nil
}
