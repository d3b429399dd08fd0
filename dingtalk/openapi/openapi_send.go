package openapi

import (
	"context"
	"errors"
	"fmt"

	"picoclaw"
	"picoclaw/dingtalk/internal/wire"
)

const (
	batchSendPath  = "/v1.0/robot/oToMessages/batchSend"
	groupSendPath  = "/v1.0/robot/groupMessages/send"
	msgKeyMarkdown = "sampleMarkdown"
	msgKeyText     = "sampleText"
	msgKeyFile     = "sampleFile"
	msgKeyImage    = "sampleImageMsg"
)

// Message is a robot message template: MsgKey names it and Param
// fills it. Param is sent as the msgParam JSON string.
type Message struct {
	MsgKey string
	Param  any
}

// MarkdownMessage is a sampleMarkdown message; title is the chat list
// preview.
func MarkdownMessage(title, text string) Message {
	return Message{msgKeyMarkdown, struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	}{title, text}}
}

// TextMessage is a sampleText message.
func TextMessage(text string) Message {
	return Message{msgKeyText, struct {
		Content string `json:"content"`
	}{text}}
}

// FileMessage is a sampleFile message for a file uploaded with
// UploadMedia; fileType is its extension ("pdf", "zip").
func FileMessage(mediaID, fileName, fileType string) Message {
	return Message{msgKeyFile, struct {
		MediaID  string `json:"mediaId"`
		FileName string `json:"fileName"`
		FileType string `json:"fileType"`
	}{mediaID, fileName, fileType}}
}

// ImageMessage is a sampleImageMsg message; photoURL may be a URL or the
// media id of an uploaded image.
func ImageMessage(photoURL string) Message {
	return Message{msgKeyImage, struct {
		PhotoURL string `json:"photoURL"`
	}{photoURL}}
}

func (m Message) param() (string, error) {
	if m.MsgKey == "" {
		return "", errors.New("message has no msgKey")
	}
	b, err := wire.EncodeJSON(m.Param)
	if err != nil {
		return "", fmt.Errorf("encode msgParam: %w", err)
	}
	return string(b), nil
}

// SendDirect sends msg to users' single chats with the robot, by staff id.
// DingTalk accepts the request yet may skip some users: invalid staff ids
// give an error naming them, and flow-controlled ones a
// *picoclaw.RateLimitError.
func (a *Client) SendDirect(ctx context.Context, staffIDs []string, msg Message) error {
	if len(staffIDs) == 0 {
		return errors.New("dingtalk: send direct message: no staff ids")
	}
	param, err := msg.param()
	if err != nil {
		return fmt.Errorf("dingtalk: send direct message: %w", err)
	}
	in := struct {
		RobotCode string   `json:"robotCode"`
		UserIDs   []string `json:"userIds"`
		MsgKey    string   `json:"msgKey"`
		MsgParam  string   `json:"msgParam"`
	}{a.cfg.RobotCode, staffIDs, msg.MsgKey, param}
	var ans struct {
		ProcessQueryKey string   `json:"processQueryKey"`
		Invalid         []string `json:"invalidStaffIdList"`
		FlowControlled  []string `json:"flowControlledStaffIdList"`
	}
	err = a.withRetry(ctx, "send direct message", true, func(token string) error {
		return a.postJSON(ctx, batchSendPath, token, in, &ans)
	})
	if err != nil {
		return err
	}
	switch {
	case len(ans.Invalid) > 0:
		return fmt.Errorf("dingtalk: send direct message: DingTalk refused staff ids %q (not users of this organisation, or not allowed to use the robot)", ans.Invalid)
	case len(ans.FlowControlled) > 0:
		return &picoclaw.RateLimitError{Err: fmt.Errorf("dingtalk: send direct message: flow controlled for staff ids %q", ans.FlowControlled)}
	}
	a.log.Debug("dingtalk api: direct message sent", "users", len(staffIDs), "msg_key", msg.MsgKey, "process_query_key", ans.ProcessQueryKey)
	return nil
}

// SendGroup sends msg to a group chat the robot is in. The id is the
// openConversationId (a bot message's conversationId), case-sensitive.
func (a *Client) SendGroup(ctx context.Context, openConversationID string, msg Message) error {
	if openConversationID == "" {
		return errors.New("dingtalk: send group message: no conversation id")
	}
	param, err := msg.param()
	if err != nil {
		return fmt.Errorf("dingtalk: send group message: %w", err)
	}
	in := struct {
		RobotCode          string `json:"robotCode"`
		OpenConversationID string `json:"openConversationId"`
		MsgKey             string `json:"msgKey"`
		MsgParam           string `json:"msgParam"`
	}{a.cfg.RobotCode, openConversationID, msg.MsgKey, param}
	var ans struct {
		ProcessQueryKey string `json:"processQueryKey"`
	}
	err = a.withRetry(ctx, "send group message", true, func(token string) error {
		return a.postJSON(ctx, groupSendPath, token, in, &ans)
	})
	if err != nil {
		return err
	}
	a.log.Debug("dingtalk api: group message sent", "msg_key", msg.MsgKey, "process_query_key", ans.ProcessQueryKey)
	return nil
}
