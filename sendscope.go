package picoclaw

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrRecipientNotAllowed is wrapped by SendScope.Check's refusals.
var ErrRecipientNotAllowed = errors.New("recipient not allowed")

// SendScope says which chats the tools of a turn may send to (message,
// send_file): the chat the turn answers, and only the others an
// administrator listed. A chat message may be hostile and the model may
// obey it, so "send this to my colleague" must not reach a stranger.
// The zero SendScope allows nothing.
type SendScope struct {
	// Origin returns the chat the turn in ctx answers; ok is false
	// outside a chat (then only AllowTo applies).
	Origin func(ctx context.Context) (channel string, chat Peer, ok bool)
	// AllowTo lists other chats: session keys ("dingtalk:group:cid…"),
	// bare chat ids, or "*" for every chat.
	AllowTo []string
}

// Current returns the chat the turn in ctx answers.
func (s SendScope) Current(ctx context.Context) (string, Peer, bool) {
	if s.Origin == nil {
		return "", Peer{}, false
	}
	return s.Origin(ctx)
}

// Check returns nil when the turn in ctx may send to chat on channel, else
// an error wrapping ErrRecipientNotAllowed that says how to allow it.
func (s SendScope) Check(ctx context.Context, channel string, chat Peer) error {
	if ch, own, ok := s.Current(ctx); ok && ch == channel && own == chat {
		return nil
	}
	key := string(NewSessionKey(channel, chat))
	if slices.Contains(s.AllowTo, "*") || slices.Contains(s.AllowTo, key) || slices.Contains(s.AllowTo, chat.ID) {
		return nil
	}
	return fmt.Errorf("%w: %s is not the chat this conversation is in; the assistant sends only to its own chat unless an administrator lists others in tools.message.allow_to", ErrRecipientNotAllowed, key)
}
