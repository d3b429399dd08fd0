package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"picoclaw"
	"picoclaw/dingtalk/openapi"
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
	return c.SendParts(ctx, out, 0, nil)
}

// SendParts is Send for a caller that records progress (the outbox): it
// skips the first from parts of the split message, already accepted by
// DingTalk, and calls accepted (if not nil) with each part's index, and
// whether it is the last, as soon as DingTalk accepted it. The split is
// the same for the same text, so a retry resumes exactly where the last
// attempt stopped.
//
// A session webhook that fails (5xx, timeout, redirect, a body that is
// not its JSON, errcode 300001) is not retried: that part and the rest go
// by OpenAPI at once. OpenAPI failures are returned with their kind
// (picoclaw.ErrTemporary, *picoclaw.RateLimitError, errNoRoute, …), for
// the caller to decide whether to retry later.
func (c *Channel) SendParts(ctx context.Context, out picoclaw.Outbound, from int, accepted func(part int, last bool)) error {
	switch out.Kind {
	case picoclaw.OutAnswer:
		return c.sendAnswer(ctx, out, from, accepted)
	case picoclaw.OutReasoning:
		return c.sendReasoning(ctx, out, from, accepted)
	default:
		return fmt.Errorf("dingtalk: send: unknown outbound kind %d", out.Kind)
	}
}

func (c *Channel) sendAnswer(ctx context.Context, out picoclaw.Outbound, from int, accepted func(int, bool)) error {
	key := picoclaw.NewSessionKey(c.name, out.Chat)
	if out.Chat.ID == "" {
		return fmt.Errorf("dingtalk: send answer to %s: %w: empty chat id", key, errNoRoute)
	}
	// A streamed answer ends as its card; only a card that failed (or a
	// resumed delivery) goes on as markdown.
	if out.Streamed && from == 0 && c.finishCard(ctx, out) {
		c.StopThinking(out.ReplyTo)
		return nil
	}
	if err := c.deliver(ctx, c.answerDelivery(ctx, out), out.Text, from, accepted); err != nil {
		c.log.Error("dingtalk: answer not delivered", "chat", string(key), "reply_to", out.ReplyTo, "err", err)
		return fmt.Errorf("dingtalk: send answer to %s: %w", key, err)
	}
	// Delivered: the question no longer needs its "thinking" reaction.
	c.StopThinking(out.ReplyTo)
	return nil
}

// answerDelivery prefers the webhook of the message answered, then the
// chat's latest one.
func (c *Channel) answerDelivery(ctx context.Context, out picoclaw.Outbound) delivery {
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
		} else if r, ok := c.sharedChatRoute(ctx, out.Chat); ok && r.usable(now, c.margin) {
			d.webhook = r.webhook // another gateway saw the chat
		}
	}
	if out.Chat.Kind != picoclaw.ChatGroup || !c.replyAt || !isStaffID(d.atStaff) {
		d.atStaff = ""
	}
	return d
}

func (c *Channel) sendReasoning(ctx context.Context, out picoclaw.Outbound, from int, accepted func(int, bool)) error {
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
	if err := c.deliver(ctx, d, ReasoningHeader+"\n\n"+out.Text, from, accepted); err != nil {
		return fmt.Errorf("dingtalk: send reasoning to %s: %w", picoclaw.NewSessionKey(c.name, chat), err)
	}
	return nil
}

// resolveChat turns a configured chat id into a chat:
// "dingtalk:direct:<id>", "dingtalk:group:<id>", or a bare id. A bare id
// of a chat that wrote to the bot is that chat (groups first); an unknown
// one is a group if it looks like a conversation id, else a staff id.
func (c *Channel) resolveChat(target string) (picoclaw.Peer, error) {
	var p picoclaw.Peer
	if strings.HasPrefix(target, c.name+":") || strings.HasPrefix(target, ChannelName+":") {
		_, chat, err := picoclaw.ParseSessionKey(target)
		if err != nil {
			return p, fmt.Errorf("chat %q: %w: %w", target, errNoRoute, err)
		}
		p = chat
	} else if known, ok := c.routes.knownChat(target); ok {
		p = known
	} else if looksLikeConversationID(target) {
		p = picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: target}
	} else {
		p = picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: target}
	}
	if p.ID == "" {
		return p, fmt.Errorf("chat %q: %w: empty id", target, errNoRoute)
	}
	return p, nil
}

// deliver sends text to d, shaped for DingTalk's markdown (ShapeMarkdown),
// in parts, in order, from part from on, each
// titled by its own first words, and reports each accepted part. A
// webhook that fails in a way another route may fix (see fallsOver) is
// left for that part and the rest, which go by OpenAPI; one answering
// 300001 is also forgotten.
func (c *Channel) deliver(ctx context.Context, d delivery, text string, from int, accepted func(int, bool)) error {
	// Shaped before the split: what DingTalk cannot render is rewritten,
	// and the same text always gives the same parts (resumable sends).
	parts := split(ShapeMarkdown(text), maxReplyBytes)
	if from >= len(parts) {
		return nil
	}
	key := string(picoclaw.NewSessionKey(c.name, d.chat))
	var fellOver error
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
			case errors.As(err, &rl) && !errors.Is(err, picoclaw.ErrTemporary):
				// Throttled despite the limiter (another sender in the
				// chat): hold the chat back for a window.
				c.limiter.Penalize(key, defaultChatWindow)
				return fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
			case !fallsOver(ctx, err):
				return fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
			}
			expired := errors.Is(err, errSessionExpired)
			if expired {
				c.routes.forget(d.webhook)
				c.saveRoutes()
			}
			if !reachableByOpenAPI(d.chat) {
				// No other route: a failing webhook is kept for a later retry.
				return fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
			}
			if expired {
				c.log.Info("dingtalk: session webhook expired; sending by OpenAPI", "chat", key, "part", i+1)
			} else {
				c.log.Warn("dingtalk: session webhook failed; sending by OpenAPI", "chat", key, "part", i+1, "err", err)
			}
			d.webhook, fellOver = "", err
		}
		if err := c.sendOpenAPI(ctx, d.chat, title, part); err != nil {
			if fellOver != nil {
				return fmt.Errorf("part %d of %d: %w (the session webhook had failed: %v)", i+1, len(parts), err, fellOver)
			}
			return fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
		}
		return nil
	}
	// One batch per message: its parts stay together and in order, and
	// the chat's rate limit is kept.
	fns := make([]func(context.Context) error, 0, len(parts)-from)
	for i := from; i < len(parts); i++ {
		fns = append(fns, func(context.Context) error {
			if err := send(i, parts[i]); err != nil {
				return err
			}
			if accepted != nil {
				accepted(i, i == len(parts)-1)
			}
			return nil
		})
	}
	return c.limiter.Do(ctx, key, fns...)
}

// fallsOver says whether a webhook failure sends the part by OpenAPI at
// once: the session expired (300001), a 5xx, a timeout or dropped
// connection, a redirect, or an answer that is not the webhook's JSON.
// A refusal of the message itself (460101 body too large, other
// errcodes) would fail the same way by OpenAPI; a cancelled ctx stops.
func fallsOver(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	return errors.Is(err, errSessionExpired) || errors.Is(err, picoclaw.ErrTemporary) || errors.Is(err, picoclaw.ErrBadResponse)
}

// reachableByOpenAPI: groups by conversation id, single chats only by a
// staff id.
func reachableByOpenAPI(chat picoclaw.Peer) bool {
	return chat.Kind == picoclaw.ChatGroup || (chat.Kind == picoclaw.ChatDirect && isStaffID(chat.ID))
}

// sendOpenAPI sends one markdown part by OpenAPI: a group by its
// conversation id, a single chat by the user's staff id.
func (c *Channel) sendOpenAPI(ctx context.Context, chat picoclaw.Peer, title, text string) error {
	msg := openapi.MarkdownMessage(title, text)
	switch chat.Kind {
	case picoclaw.ChatGroup:
		return c.openapi.SendGroup(ctx, chat.ID, msg)
	case picoclaw.ChatDirect:
		if !isStaffID(chat.ID) {
			return fmt.Errorf("%w: the user has no staff id (not a member of the organisation), "+
				"so only a fresh session webhook can reach them; they must write to the bot again", errNoRoute)
		}
		return c.openapi.SendDirect(ctx, []string{chat.ID}, msg)
	default:
		return fmt.Errorf("%w: unknown chat kind %d", errNoRoute, chat.Kind)
	}
}
