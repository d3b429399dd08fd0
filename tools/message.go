package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"picoclaw"
)

// MessageTool lets the model send a message to the chat it is answering
// or, where the configuration allows, to another chat.
type MessageTool struct {
	send           func(ctx context.Context, out picoclaw.Outbound) error
	defaultChannel string
	scope          picoclaw.SendScope
}

// NewMessageTool returns the message tool. send delivers the message (the
// channel router); defaultChannel is used when neither channel nor chat_id
// names one; scope says which chats a turn may reach (its own, plus
// tools.message.allow_to).
func NewMessageTool(send func(ctx context.Context, out picoclaw.Outbound) error, defaultChannel string, scope picoclaw.SendScope) *MessageTool {
	return &MessageTool{send: send, defaultChannel: defaultChannel, scope: scope}
}

// Def describes message.
func (t *MessageTool) Def() picoclaw.ToolDef {
	return def("message",
		"Send a message to the current chat now (before the answer), or to another chat the administrator allowed. chat_id is \"dingtalk:direct:<user id>\" or \"dingtalk:group:<conversation id>\", or a bare id together with chat_type; default is the current chat.",
		`{"type":"object","properties":{"content":{"type":"string","description":"Text to send"},"channel":{"type":"string","description":"Channel name, e.g. dingtalk; default is the current channel"},"chat_id":{"type":"string","description":"Target chat: dingtalk:direct:<id>, dingtalk:group:<id>, or a bare id with chat_type; default is the current chat"},"chat_type":{"type":"string","enum":["direct","group"],"description":"Kind of chat for a bare chat_id"}},"required":["content"]}`)
}

type messageArgs struct {
	Content  string `json:"content"`
	Channel  string `json:"channel"`
	ChatID   string `json:"chat_id"`
	ChatType string `json:"chat_type"`
}

// Call sends the message and returns "sent".
func (t *MessageTool) Call(ctx context.Context, raw json.RawMessage) (string, error) {
	var a messageArgs
	if err := decodeArgs("message", raw, &a, `{"content": "Meeting moved to 3pm", "chat_id": "dingtalk:group:cidXYZ=="}`); err != nil {
		return "", err
	}
	if strings.TrimSpace(a.Content) == "" {
		return "", errors.New("message: content is required")
	}
	if t.send == nil {
		return "", errors.New("message: sending is not available in this mode")
	}
	channel, chat, err := t.target(ctx, a)
	if err != nil {
		return "", fmt.Errorf("message: %w", err)
	}
	if err := t.scope.Check(ctx, channel, chat); err != nil {
		return "", fmt.Errorf("message: %w", err)
	}
	out := picoclaw.Outbound{Channel: channel, Chat: chat, Kind: picoclaw.OutAnswer, Text: a.Content}
	if err := t.send(ctx, out); err != nil {
		return "", fmt.Errorf("message: send to %s: %w", picoclaw.NewSessionKey(channel, chat), err)
	}
	return "sent", nil
}

// target works out the channel and chat from channel, chat_id and
// chat_type, refusing any contradiction between them.
func (t *MessageTool) target(ctx context.Context, a messageArgs) (string, picoclaw.Peer, error) {
	id := strings.TrimSpace(a.ChatID)
	if id == "" {
		if ch, chat, ok := t.scope.Current(ctx); ok && (a.Channel == "" || a.Channel == ch) {
			return ch, chat, nil
		}
		return "", picoclaw.Peer{}, errors.New(`chat_id is required outside a chat, e.g. "dingtalk:direct:<user id>" or "dingtalk:group:<conversation id>"`)
	}
	channel := strings.TrimSpace(a.Channel)
	kindWord := strings.ToLower(strings.TrimSpace(a.ChatType))
	if keyChannel, chat, err := picoclaw.ParseSessionKey(id); err == nil {
		if channel != "" && channel != keyChannel {
			return "", picoclaw.Peer{}, fmt.Errorf("channel %q contradicts chat_id %q", channel, id)
		}
		if kindWord != "" && kindWord != chat.Kind.String() {
			return "", picoclaw.Peer{}, fmt.Errorf("chat_type %q contradicts chat_id %q", kindWord, id)
		}
		return keyChannel, chat, nil
	} else if looksLikeSessionKey(id) {
		return "", picoclaw.Peer{}, fmt.Errorf(`chat_id %q has an empty id or channel: expected "<channel>:direct:<id>" or "<channel>:group:<id>"`, a.ChatID)
	}
	if channel == "" {
		// A bare id names a chat of the bot the turn answers as (each
		// DingTalk bot is its own channel), else of the default channel.
		if ch, _, ok := t.scope.Current(ctx); ok {
			channel = ch
		} else {
			channel = t.defaultChannel
		}
	}
	if channel == "" {
		return "", picoclaw.Peer{}, errors.New(`channel is required: pass channel (e.g. "dingtalk") or a chat_id like "dingtalk:direct:<id>"`)
	}
	var kind picoclaw.ChatKind
	if err := kind.UnmarshalText([]byte(kindWord)); err != nil {
		return "", picoclaw.Peer{}, fmt.Errorf(`chat_type must be "direct" or "group", got %q`, a.ChatType)
	}
	if kind == 0 {
		return "", picoclaw.Peer{}, fmt.Errorf(`chat_id %q does not say whether it is a direct or a group chat: pass chat_type "direct" or "group", or use "%s:direct:<id>" / "%s:group:<id>"`, a.ChatID, channel, channel)
	}
	return channel, picoclaw.Peer{Kind: kind, ID: id}, nil
}

// looksLikeSessionKey reports whether id is shaped "<x>:<chat kind>:<y>",
// so that a session key with a part missing is refused rather than taken
// for a bare id.
func looksLikeSessionKey(id string) bool {
	parts := strings.SplitN(id, ":", 3)
	var kind picoclaw.ChatKind
	return len(parts) == 3 && kind.UnmarshalText([]byte(parts[1])) == nil && kind != 0
}
