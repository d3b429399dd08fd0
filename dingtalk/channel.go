package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"picoclaw"
	"picoclaw/internal/backoff"
)

// ChannelName is the channel's name in session keys.
const ChannelName = "dingtalk"

// DefaultAPIBase is DingTalk's OpenAPI and stream gateway host.
const DefaultAPIBase = "https://api.dingtalk.com"

// ReasoningHeader starts every reasoning message, so it is never taken
// for an answer.
const ReasoningHeader = "💭 Reasoning"

// ChannelConfig configures a Channel. ClientID and ClientSecret (the
// app's AppKey and AppSecret) are required.
type ChannelConfig struct {
	ClientID, ClientSecret string
	APIBase                string // default DefaultAPIBase
	AllowFrom              []string
	MentionOnly            bool
	Prefixes               []string
	// ReasoningChannelID is where reasoning goes: "dingtalk:direct:<id>",
	// "dingtalk:group:<id>" or a bare id; empty drops reasoning.
	ReasoningChannelID string
	HTTPClient         *http.Client
	Logger             *slog.Logger
	OnConnected        func()
	IdleTimeout        time.Duration
	Backoff            *backoff.Backoff
}

// Channel is picoclaw's DingTalk channel: it receives bot messages over
// Stream Mode and answers through each message's session webhook.
type Channel struct {
	cfg     ChannelConfig
	log     *slog.Logger
	policy  Policy
	webhook *WebhookClient
	dedup   *Dedup
	routes  *routes
	now     func() time.Time
	stream  atomic.Pointer[Stream]
}

var _ picoclaw.Channel = (*Channel)(nil)

// NewChannel checks cfg and returns a channel; Run connects it.
func NewChannel(cfg ChannelConfig) (*Channel, error) {
	if cfg.ClientID == "" {
		return nil, errors.New("dingtalk: new channel: client_id is required")
	}
	if cfg.ClientSecret == "" {
		return nil, errors.New("dingtalk: new channel: client_secret is required")
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Channel{
		cfg:     cfg,
		log:     log,
		policy:  Policy{AllowFrom: cfg.AllowFrom, MentionOnly: cfg.MentionOnly, Prefixes: cfg.Prefixes},
		webhook: &WebhookClient{HTTP: cfg.HTTPClient, Logger: log, APIBase: cfg.APIBase},
		dedup:   NewDedup(DefaultDedupCapacity, DefaultDedupTTL, nil),
		routes:  newRoutes(),
		now:     time.Now,
	}, nil
}

// Name returns "dingtalk".
func (c *Channel) Name() string { return ChannelName }

// Connected reports whether the stream socket is up.
func (c *Channel) Connected() bool {
	s := c.stream.Load()
	return s != nil && s.Connected()
}

// Run connects to DingTalk and hands each accepted message to handle
// until ctx ends.
func (c *Channel) Run(ctx context.Context, handle func(picoclaw.Inbound)) error {
	if handle == nil {
		return errors.New("dingtalk: run channel: nil handler")
	}
	if len(c.cfg.AllowFrom) == 0 {
		c.log.Warn("dingtalk: allow_from is empty: everyone who can reach the bot may use it")
	}
	s, err := NewStream(StreamConfig{
		ClientID:     c.cfg.ClientID,
		ClientSecret: c.cfg.ClientSecret,
		APIBase:      c.cfg.APIBase,
		HTTPClient:   c.cfg.HTTPClient,
		Logger:       c.log,
		Handler:      func(f *Frame) int { return c.onFrame(f, handle) },
		OnConnected:  c.cfg.OnConnected,
		IdleTimeout:  c.cfg.IdleTimeout,
		Backoff:      c.cfg.Backoff,
	})
	if err != nil {
		return fmt.Errorf("dingtalk: run channel: %w", err)
	}
	c.stream.Store(s)
	return s.Run(ctx)
}

// onFrame accepts one frame: it deduplicates, applies the policy,
// remembers the reply route and queues the message. It never blocks on
// the LLM; every bot message is acked 200 (even refused or malformed
// ones) so that DingTalk does not redeliver it.
func (c *Channel) onFrame(f *Frame, handle func(picoclaw.Inbound)) int {
	if f.Topic() != TopicBotMessage {
		c.log.Debug("dingtalk: ignoring frame of unknown topic", "type", f.Type, "topic", f.Topic())
		return AckNotFound
	}
	if id := f.MessageID(); id != "" && c.dedup.Seen("frame:"+id) {
		c.log.Debug("dingtalk: duplicate frame", "message_id", f.MessageID())
		return AckOK
	}
	m, err := ParseBotMessage([]byte(f.Data))
	if err != nil {
		c.log.Warn("dingtalk: dropping malformed bot message", "message_id", f.MessageID(), "err", err)
		return AckOK
	}
	if c.dedup.Seen("msg:" + m.MsgID) {
		c.log.Debug("dingtalk: duplicate bot message", "msg_id", m.MsgID)
		return AckOK
	}
	if !c.policy.Allowed(m) {
		c.log.Info("dingtalk: sender not in allow_from", "msg_id", m.MsgID,
			"sender_staff_id", m.SenderStaffID, "sender_id", m.SenderID, "sender_nick", m.SenderNick)
		return AckOK
	}
	chat, ok := m.Chat()
	if !ok {
		c.log.Warn("dingtalk: unknown conversation type", "msg_id", m.MsgID, "conversation_type", m.ConversationType)
		return AckOK
	}
	text, ok := c.policy.Trigger(m, m.PromptText())
	if !ok {
		c.log.Debug("dingtalk: group message does not trigger the bot", "msg_id", m.MsgID)
		return AckOK
	}
	if text == "" {
		if m.MsgType == MsgText {
			c.log.Debug("dingtalk: ignoring empty text message", "msg_id", m.MsgID)
			return AckOK
		}
		text = describeNonText(m)
	}
	now := c.now()
	c.rememberRoute(m, chat, now)
	handle(picoclaw.Inbound{
		Channel:    ChannelName,
		Chat:       chat,
		SenderID:   m.SenderKey(),
		SenderName: m.SenderNick,
		MessageID:  m.MsgID,
		Text:       text,
		Received:   now,
	})
	return AckOK
}

// rememberRoute stores m's session webhook, unless it points somewhere
// other than DingTalk.
func (c *Channel) rememberRoute(m *BotMessage, chat picoclaw.Peer, now time.Time) {
	if err := c.webhook.AllowedWebhook(m.SessionWebhook); err != nil {
		c.log.Warn("dingtalk: refusing session webhook; replies to this message cannot be delivered",
			"msg_id", m.MsgID, "err", err)
		return
	}
	expiry := m.WebhookExpiry()
	if expiry.IsZero() {
		expiry = now.Add(DefaultWebhookTTL)
	}
	c.routes.remember(m.MsgID, route{
		webhook:        m.SessionWebhook,
		expiry:         expiry,
		conversationID: m.ConversationID,
		senderStaffID:  m.SenderStaffID,
		chat:           chat,
	}, now)
}

// describeNonText stands in for the text of a message that has none, so
// the agent can tell the user what it cannot read yet.
func describeNonText(m *BotMessage) string {
	switch m.MsgType {
	case MsgPicture, MsgRichText:
		return "[picture]"
	case MsgAudio:
		return "[voice message]"
	case MsgVideo:
		return "[video]"
	case MsgFile:
		if f, err := m.File(); err == nil && f.FileName != "" {
			return "[file: " + f.FileName + "]"
		}
		return "[file]"
	default:
		return "[unsupported message type: " + m.MsgType + "]"
	}
}

// Send delivers an answer to the chat it answers, or reasoning to the
// configured reasoning chat, split to fit DingTalk's size limit.
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
	now := c.now()
	r, ok := route{}, false
	if out.ReplyTo != "" {
		r, ok = c.routes.forMessage(out.ReplyTo, now)
	}
	if !ok {
		r, ok = c.routes.forChat(out.Chat, now)
	}
	key := picoclaw.NewSessionKey(ChannelName, out.Chat)
	if !ok {
		err := fmt.Errorf("dingtalk: send answer to %s: %w: no fresh session webhook", key, ErrNoRoute)
		c.log.Error("dingtalk: answer cannot be delivered", "chat", string(key), "reply_to", out.ReplyTo, "err", err)
		return err
	}
	if err := c.post(ctx, r, out.Text); err != nil {
		return fmt.Errorf("dingtalk: send answer to %s: %w", key, err)
	}
	return nil
}

func (c *Channel) sendReasoning(ctx context.Context, out picoclaw.Outbound) error {
	target := c.cfg.ReasoningChannelID
	if target == "" {
		return nil
	}
	chat, r, ok := c.routes.resolveChat(target, c.now())
	if !ok {
		return fmt.Errorf("dingtalk: send reasoning to %q: %w yet: no message received from that chat", target, ErrNoRoute)
	}
	if err := c.post(ctx, r, ReasoningHeader+"\n\n"+out.Text); err != nil {
		return fmt.Errorf("dingtalk: send reasoning to %s: %w", picoclaw.NewSessionKey(ChannelName, chat), err)
	}
	return nil
}

// post sends text through r in parts, in order, each titled by its own
// first words.
func (c *Channel) post(ctx context.Context, r route, text string) error {
	parts := Split(text, MaxReplyBytes)
	for i, part := range parts {
		err := c.webhook.SendMarkdown(ctx, r.webhook, picoclaw.Title(part, 20), part, nil)
		if errors.Is(err, ErrSessionExpired) {
			c.routes.forget(r.webhook)
		}
		if err != nil {
			return fmt.Errorf("part %d of %d: %w", i+1, len(parts), err)
		}
	}
	return nil
}
