package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"picoclaw"
)

// delivery is where one outbound message goes: a session webhook while
// one is fresh, else the OpenAPI.
type delivery struct {
	chat    picoclaw.Peer
	webhook string // "" when none is fresh
	// atStaff is mentioned in the first part of a group reply sent by
	// webhook (OpenAPI group messages cannot mention anyone).
	atStaff string
}

// Send delivers an answer to its chat, or reasoning to the configured
// reasoning chat, split to fit DingTalk's size limit. Parts keep their
// order; a webhook that turns out expired is dropped and the rest of the
// message goes by OpenAPI.
func (c *Channel) Send(ctx context.Context, out picoclaw.Outbound) error {
	switch out.Kind {
	case picoclaw.OutAnswer:
		return c.sendAnswer(ctx, out)
	case picoclaw.OutReasoning:
		return c.sendReasoning(ctx, out)
	default:
		return fmt.Errorf("dingtalk: send: unknown outbound kind %d", out.Kind)
	}
}

func (c *Channel) sendAnswer(ctx context.Context, out picoclaw.Outbound) error {
	key := picoclaw.NewSessionKey(ChannelName, out.Chat)
	if out.Chat.ID == "" {
		return fmt.Errorf("dingtalk: send answer to %s: %w: empty chat id", key, ErrNoRoute)
	}
	if err := c.deliver(ctx, c.answerDelivery(out), out.Text); err != nil {
		c.log.Error("dingtalk: answer not delivered", "chat", string(key), "reply_to", out.ReplyTo, "err", err)
		return fmt.Errorf("dingtalk: send answer to %s: %w", key, err)
	}
	return nil
}

// answerDelivery prefers the webhook of the message answered, then the
// chat's latest one.
func (c *Channel) answerDelivery(out picoclaw.Outbound) delivery {
	now := c.now()
	d := delivery{chat: out.Chat}
	if out.ReplyTo != "" {
		if r, ok := c.routes.message(out.ReplyTo); ok && r.chat == out.Chat {
			d.atStaff = r.senderStaffID
			if r.usable(now, c.margin) {
				d.webhook = r.webhook
			}
		} else if isStaffID(out.SenderID) {
			d.atStaff = out.SenderID
		}
	}
	if d.webhook == "" {
		if r, ok := c.routes.chat(out.Chat); ok && r.usable(now, c.margin) {
			d.webhook = r.webhook
		}
	}
	if out.Chat.Kind != picoclaw.ChatGroup || !c.replyAt || !isStaffID(d.atStaff) {
		d.atStaff = ""
	}
	return d
}

func (c *Channel) sendReasoning(ctx context.Context, out picoclaw.Outbound) error {
	target := c.cfg.ReasoningChannelID
	if target == "" {
		return nil
	}
	chat, err := c.resolveChat(target)
	if err != nil {
		return fmt.Errorf("dingtalk: send reasoning: %w", err)
	}
	d := delivery{chat: chat}
	if r, ok := c.routes.chat(chat); ok && r.usable(c.now(), c.margin) {
		d.webhook = r.webhook
	}
	if err := c.deliver(ctx, d, ReasoningHeader+"\n\n"+out.Text); err != nil {
		return fmt.Errorf("dingtalk: send reasoning to %s: %w", picoclaw.NewSessionKey(ChannelName, chat), err)
	}
	return nil
}

// resolveChat turns a configured chat id into a chat:
// "dingtalk:direct:<id>", "dingtalk:group:<id>", or a bare id. A bare id
// of a chat that wrote to the bot is that chat (groups first); an unknown
// one is a group if it looks like a conversation id, else a staff id.
func (c *Channel) resolveChat(target string) (picoclaw.Peer, error) {
	var p picoclaw.Peer
	if rest, ok := strings.CutPrefix(target, "dingtalk:direct:"); ok {
		p = picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: rest}
	} else if rest, ok := strings.CutPrefix(target, "dingtalk:group:"); ok {
		p = picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: rest}
	} else if known, ok := c.routes.knownChat(target); ok {
		p = known
	} else if looksLikeConversationID(target) {
		p = picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: target}
	} else {
		p = picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: target}
	}
	if p.ID == "" {
		return p, fmt.Errorf("chat %q: %w: empty id", target, ErrNoRoute)
	}
	return p, nil
}

// deliver sends text to d in parts, in order, each titled by its own
// first words. A webhook answering 300001 is forgotten and that part and
// the rest go by OpenAPI.
func (c *Channel) deliver(ctx context.Context, d delivery, text string) error {
	parts := Split(text, MaxReplyBytes)
	key := string(picoclaw.NewSessionKey(ChannelName, d.chat))
	var expired error
	send := func(i int, part string) error {
		title := picoclaw.Title(part, 20)
		if d.webhook != "" {
			body, at := part, []string(nil)
			if i == 0 && d.atStaff != "" {
				// DingTalk notifies only when the text also names the user.
				body, at = "@"+d.atStaff+"\n\n"+part, []string{d.atStaff}
			}
			err := c.webhook.SendMarkdown(ctx, d.webhook, title, body, at)
			var rl *picoclaw.RateLimitError
			switch {
			case err == nil:
				return nil
			case errors.As(err, &rl):
				// Throttled despite the limiter (another sender in the
				// chat): hold the chat back for a window.
				c.limiter.Penalize(key, DefaultChatWindow)
				return fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
			case !errors.Is(err, ErrSessionExpired):
				return fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
			}
			c.log.Info("dingtalk: session webhook expired; sending by OpenAPI", "chat", key, "part", i+1)
			c.routes.forget(d.webhook)
			c.saveRoutes()
			d.webhook, expired = "", err
		}
		if err := c.sendOpenAPI(ctx, d.chat, title, part); err != nil {
			if expired != nil {
				return fmt.Errorf("part %d of %d: %w (the session webhook had expired: %w)", i+1, len(parts), err, expired)
			}
			return fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
		}
		return nil
	}
	// One batch per message: its parts stay together and in order, and
	// the chat's rate limit is kept.
	fns := make([]func(context.Context) error, len(parts))
	for i, part := range parts {
		fns[i] = func(context.Context) error { return send(i, part) }
	}
	return c.limiter.Do(ctx, key, fns...)
}

// sendOpenAPI sends one markdown part by OpenAPI: a group by its
// conversation id, a single chat by the user's staff id.
func (c *Channel) sendOpenAPI(ctx context.Context, chat picoclaw.Peer, title, text string) error {
	msg := MarkdownMessage(title, text)
	switch chat.Kind {
	case picoclaw.ChatGroup:
		return c.openapi.SendGroup(ctx, chat.ID, msg)
	case picoclaw.ChatDirect:
		if !isStaffID(chat.ID) {
			return fmt.Errorf("%w: the user has no staff id (not a member of the organisation), "+
				"so only a fresh session webhook can reach them; they must write to the bot again", ErrNoRoute)
		}
		return c.openapi.SendDirect(ctx, []string{chat.ID}, msg)
	default:
		return fmt.Errorf("%w: unknown chat kind %d", ErrNoRoute, chat.Kind)
	}
}
