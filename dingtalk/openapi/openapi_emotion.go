package openapi

import (
	"context"
	"errors"
	"fmt"
)

// Robot reactions ("emotions") on a user's message. DingTalk's OpenClaw
// connectors and the robot_1_0 SDK send the same body to both paths:
// reply puts the reaction on, recall takes it off.
const (
	emotionReplyPath  = "/v1.0/robot/emotion/reply"
	emotionRecallPath = "/v1.0/robot/emotion/recall"
)

// ThinkingEmotion is the text reaction DingTalk shows while the bot works
// (its built-in "thinking" emotion id and background).
var ThinkingEmotion = Emotion{ID: "2659900", Name: "🤔思考中", BackgroundID: "im_bg_1"}

// Emotion is a text reaction: DingTalk draws Name on the background
// BackgroundID under the message.
type Emotion struct {
	ID, Name, BackgroundID string
}

type emotionRequest struct {
	RobotCode          string      `json:"robotCode"`
	OpenMsgID          string      `json:"openMsgId"`
	OpenConversationID string      `json:"openConversationId"`
	EmotionType        int         `json:"emotionType"` // 2: a text emotion
	EmotionName        string      `json:"emotionName"`
	TextEmotion        textEmotion `json:"textEmotion"`
}

type textEmotion struct {
	EmotionID    string `json:"emotionId"`
	EmotionName  string `json:"emotionName"`
	Text         string `json:"text"`
	BackgroundID string `json:"backgroundId"`
}

// ReplyEmotion puts e on the message openMsgID (a bot message's msgId) of
// the conversation openConversationID. It is one attempt, no retries: a
// reaction is decoration, and a late one is worse than none.
func (a *Client) ReplyEmotion(ctx context.Context, openConversationID, openMsgID string, e Emotion) error {
	return a.emotion(ctx, "reply emotion", emotionReplyPath, openConversationID, openMsgID, e)
}

// RecallEmotion takes e off the message again.
func (a *Client) RecallEmotion(ctx context.Context, openConversationID, openMsgID string, e Emotion) error {
	return a.emotion(ctx, "recall emotion", emotionRecallPath, openConversationID, openMsgID, e)
}

func (a *Client) emotion(ctx context.Context, op, path, conversationID, msgID string, e Emotion) error {
	if conversationID == "" || msgID == "" {
		return errors.New("dingtalk: " + op + ": need the message's conversation id and msgId")
	}
	in := emotionRequest{
		RobotCode: a.cfg.RobotCode, OpenMsgID: msgID, OpenConversationID: conversationID,
		EmotionType: 2, EmotionName: e.Name,
		TextEmotion: textEmotion{EmotionID: e.ID, EmotionName: e.Name, Text: e.Name, BackgroundID: e.BackgroundID},
	}
	token, err := a.Token(ctx)
	if err != nil {
		return fmt.Errorf("dingtalk: %s: %w", op, err)
	}
	if err := a.postJSON(ctx, path, token, in, nil); err != nil {
		return fmt.Errorf("dingtalk: %s: %w", op, err)
	}
	return nil
}
