package dingtalk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/openapi"
	"picoclaw/dingtalk/stream"
	"picoclaw/internal/backoff"
)

// ChannelName is the channel's name in session keys when ChannelConfig
// leaves Name empty: the one bot of a single-bot gateway.
const ChannelName = "dingtalk"

// defaultAPIBase is DingTalk's OpenAPI and stream gateway host.
const defaultAPIBase = openapi.DefaultAPIBase

// ReasoningHeader starts every reasoning message, so it is never taken
// for an answer.
const ReasoningHeader = "💭 Reasoning"

// ChannelConfig configures a Channel. ClientID and ClientSecret (the
// app's AppKey and AppSecret) are required.
type ChannelConfig struct {
	// Name is the channel's name in session keys, outbound routing and
	// logs; default ChannelName. Each bot of a gateway has its own.
	Name                   string
	ClientID, ClientSecret string
	APIBase                string // default defaultAPIBase
	AllowFrom              []string
	MentionOnly            bool
	Prefixes               []string
	// Group gives a group chat its own rule (see policy.Group); nil
	// applies AllowFrom, MentionOnly and Prefixes to every group.
	Group func(conversationID string) GroupRule
	// Direct, when set, gives the allow list of private chats, asked per
	// message so that a reloaded allow_from applies at once; nil uses
	// AllowFrom.
	Direct func() []string
	// ReasoningChannelID is where reasoning goes: "<name>:direct:<id>",
	// "<name>:group:<id>" ("dingtalk:" is accepted for any name) or a bare
	// id; empty drops reasoning.
	ReasoningChannelID string
	HTTPClient         *http.Client
	Logger             *slog.Logger
	OnConnected        func()
	IdleTimeout        time.Duration
	// UserAgent is the ua the stream reports on open; default
	// stream.DefaultUserAgent.
	UserAgent string
	Backoff   *backoff.Backoff
	// RobotCode is sent with OpenAPI robot calls; default ClientID.
	RobotCode string
	// ShareRoutes puts each message's reply route into Inbound.Route, for
	// a queue shared by several gateways (see Adopt).
	ShareRoutes bool
	// SharedRoutes, if set, keeps every chat's latest route where the
	// other gateways find it (see RouteShare).
	SharedRoutes RouteShare
	// StateDir keeps the known chats and their session webhooks
	// (routesFile) across restarts; "" keeps them in memory only.
	StateDir string
	// ReplyAtSender mentions the asker in group replies sent through the
	// session webhook; nil means true.
	ReplyAtSender *bool
	// WebhookMargin: a session webhook is not used within this long of
	// its expiry (OpenAPI is used instead); default defaultWebhookMargin.
	WebhookMargin time.Duration
	// ChatLimit messages per ChatWindow are sent to one chat at most
	// (DingTalk throttles robots at ~20 a minute per chat); the rest wait
	// their turn in order. Defaults defaultChatPerWindow, defaultChatWindow.
	ChatLimit  int
	ChatWindow time.Duration
	// CallTimeout bounds each short API call (stream open, access token,
	// robot sends, webhook posts) independently of HTTPClient's timeout,
	// which must allow media transfers; default defaultCallTimeout.
	CallTimeout time.Duration
	// CallRetryMin and CallRetryMax bound the waits between the retries
	// inside one call: an OpenAPI call's 5xx (QPS throttling waits about a
	// second, or about CallRetryMax when shorter) and a throttled webhook
	// post.
	// Zero keeps each client's defaults (OpenAPI 0.5 s–8 s, webhook 2 s–30 s).
	CallRetryMin, CallRetryMax time.Duration
	// ThinkingReaction puts "🤔思考中" on a message while it is answered
	// (StartThinking, StopThinking); nil means true.
	ThinkingReaction *bool
	// ReactionTimeout bounds each reaction call; default
	// DefaultReactionTimeout.
	ReactionTimeout time.Duration
	// CardTemplateID turns on AI card streaming replies (card.go): the
	// template answers stream into; "" sends markdown replies only.
	CardTemplateID string
	// CredentialKeys names where the bot's client_id/client_secret are
	// configured, in errors about rejected credentials; default
	// stream.DefaultCredentialKeys.
	CredentialKeys string
	// CardUpdate is the least time between two updates of a card;
	// default DefaultCardUpdate.
	CardUpdate time.Duration
}

// defaultCallTimeout bounds a short API call: an endpoint that answers
// late keeps the bot offline, or a chat waiting, no longer than this.
const defaultCallTimeout = openapi.DefaultCallTimeout

// defaultWebhookMargin keeps a reply from racing its webhook's expiry.
const defaultWebhookMargin = 5 * time.Minute

// Channel is picoclaw's DingTalk channel: it receives bot messages over
// Stream Mode and answers through each message's session webhook while it
// is fresh, else through the OpenAPI.
type Channel struct {
	cfg     ChannelConfig
	name    string
	log     *slog.Logger
	policy  policy
	webhook *webhookClient
	openapi *openapi.Client
	dedup   *dedupSet
	routes  *routes
	store   *routeStore // nil without a StateDir
	replyAt bool
	margin  time.Duration
	limiter *chatLimiter
	now     func() time.Time
	stream  atomic.Pointer[stream.Client]
	replies ownReplies
	// thinking is the reaction on messages being answered (reaction.go).
	thinking *thinking
	// cards are the AI cards of turns in progress (card.go).
	cards cardStreams
	// lastMessage is when the last message was accepted (unix ns; 0: none).
	lastMessage atomic.Int64
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
		cfg.APIBase = defaultAPIBase
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Channel{
		cfg:    cfg,
		name:   cmp.Or(cfg.Name, ChannelName),
		log:    log,
		policy: policy{AllowFrom: cfg.AllowFrom, MentionOnly: cfg.MentionOnly, Prefixes: cfg.Prefixes, Group: cfg.Group, Direct: cfg.Direct},
		webhook: &webhookClient{HTTP: withTimeout(cfg.HTTPClient, cfg.CallTimeout), Logger: log, APIBase: cfg.APIBase,
			// A failing webhook is not retried: the part goes by OpenAPI at
			// once (see deliver). Throttling is still waited out.
			Retry: webhookRetry{FailFast: true, Min: cfg.CallRetryMin, Max: cfg.CallRetryMax}},
		dedup:   newDedup(defaultDedupCapacity, defaultDedupTTL, nil),
		routes:  newRoutes(),
		replyAt: cfg.ReplyAtSender == nil || *cfg.ReplyAtSender,
		margin:  cfg.WebhookMargin,
		now:     time.Now,
	}
	if c.margin <= 0 {
		c.margin = defaultWebhookMargin
	}
	c.replies.ctx, c.replies.cancel = context.WithCancel(context.Background())
	c.limiter = newChatLimiter(chatLimiterConfig{PerWindow: cfg.ChatLimit, Window: cfg.ChatWindow, Logger: log})
	api, err := openapi.New(openapi.Config{
		ClientID:       cfg.ClientID,
		ClientSecret:   cfg.ClientSecret,
		RobotCode:      cfg.RobotCode,
		APIBase:        cfg.APIBase,
		HTTPClient:     cfg.HTTPClient,
		CallTimeout:    cfg.CallTimeout,
		Logger:         log,
		MinBackoff:     cfg.CallRetryMin,
		MaxBackoff:     cfg.CallRetryMax,
		CredentialKeys: cfg.CredentialKeys,
	})
	if err != nil {
		return nil, fmt.Errorf("dingtalk: new channel: %w", err)
	}
	c.openapi = api
	c.thinking = newThinking(api, log, cfg.ThinkingReaction == nil || *cfg.ThinkingReaction, cfg.ReactionTimeout)
	if cfg.StateDir != "" {
		c.store = newRouteStore(cfg.StateDir, c.routes, log)
		// A broken file only costs the remembered webhooks: OpenAPI still
		// reaches every chat with a staff id.
		if n, err := c.store.load(c.now()); err != nil {
			log.Warn("dingtalk: starting without remembered chats", "err", err)
		} else if n > 0 {
			log.Info("dingtalk: remembered chats loaded", "chats", n)
		}
	}
	return c, nil
}

// OpenAPI returns the channel's OpenAPI client, for tools that send files
// or messages on their own.
func (c *Channel) OpenAPI() *openapi.Client { return c.openapi }

// Name returns the channel's name (ChannelConfig.Name, default
// ChannelName).
func (c *Channel) Name() string { return c.name }

// LastMessage is when the channel last accepted a message; zero if never.
func (c *Channel) LastMessage() time.Time {
	if ns := c.lastMessage.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

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
	s, err := stream.New(stream.Config{
		ClientID:       c.cfg.ClientID,
		ClientSecret:   c.cfg.ClientSecret,
		APIBase:        c.cfg.APIBase,
		HTTPClient:     c.cfg.HTTPClient,
		Logger:         c.log,
		Handler:        func(f *stream.Frame) int { return c.onFrame(f, handle) },
		OnConnected:    c.cfg.OnConnected,
		IdleTimeout:    c.cfg.IdleTimeout,
		UserAgent:      c.cfg.UserAgent,
		OpenTimeout:    c.cfg.CallTimeout,
		Backoff:        c.cfg.Backoff,
		CredentialKeys: c.cfg.CredentialKeys,
	})
	if err != nil {
		return fmt.Errorf("dingtalk: run channel: %w", err)
	}
	c.stream.Store(s)
	// Run returns once every reader is done: no route comes in after it.
	defer c.flushRoutes()
	return s.Run(ctx)
}

// onFrame accepts one frame: it deduplicates, applies the policy,
// remembers the reply route and queues the message. It never blocks on
// the LLM; every bot message is acked 200 (even refused or malformed
// ones) so that DingTalk does not redeliver it.
func (c *Channel) onFrame(f *stream.Frame, handle func(picoclaw.Inbound)) int {
	if f.Topic() == stream.TopicCardCallback {
		return c.onCardCallback(f, handle)
	}
	if f.Topic() != stream.TopicBotMessage {
		c.log.Debug("dingtalk: ignoring frame of unknown topic", "type", f.Type, "topic", f.Topic())
		return stream.AckNotFound
	}
	if id := f.MessageID(); id != "" && c.dedup.Seen("frame:"+id) {
		c.log.Debug("dingtalk: duplicate frame", "message_id", f.MessageID())
		return stream.AckOK
	}
	m, err := parseBotMessage([]byte(f.Data))
	if err != nil {
		c.log.Warn("dingtalk: dropping malformed bot message", "message_id", f.MessageID(), "err", err)
		return stream.AckOK
	}
	if c.dedup.Seen("msg:" + m.MsgID) {
		c.log.Debug("dingtalk: duplicate bot message", "msg_id", m.MsgID)
		return stream.AckOK
	}
	if !c.policy.Answers(m) {
		c.log.Info("dingtalk: group not answered (group_allow_from, or the group's enabled: false)", "msg_id", m.MsgID,
			"conversation_id", m.ConversationID)
		return stream.AckOK
	}
	if !c.policy.Allowed(m) {
		c.log.Info("dingtalk: sender not in allow_from", "msg_id", m.MsgID,
			"sender_staff_id", m.SenderStaffID, "sender_id", m.SenderID, "sender_nick", m.SenderNick)
		return stream.AckOK
	}
	chat, ok := m.Chat()
	if !ok {
		c.log.Warn("dingtalk: unknown conversation type", "msg_id", m.MsgID, "conversation_type", m.ConversationType)
		return stream.AckOK
	}
	content, atts := attachments(m)
	text, ok := c.policy.Trigger(m, content)
	if !ok {
		c.log.Debug("dingtalk: group message does not trigger the bot", "msg_id", m.MsgID)
		return stream.AckOK
	}
	now := c.now()
	if reply, unsupported := unsupported(m); unsupported {
		// Answered here, without the model: nothing is silently dropped.
		c.rememberRoute(m, chat, now)
		c.log.Info("dingtalk: unsupported message type", "msg_id", m.MsgID, "msgtype", m.MsgType)
		c.replyNow(picoclaw.Outbound{Channel: c.name, Chat: chat, ReplyTo: m.MsgID, SenderID: m.SenderKey(), Text: reply})
		return stream.AckOK
	}
	text, atts = withQuote(m, text, atts)
	if text == "" && len(atts) == 0 {
		c.log.Debug("dingtalk: ignoring empty text message", "msg_id", m.MsgID, "msgtype", m.MsgType)
		return stream.AckOK
	}
	r := c.rememberRoute(m, chat, now)
	c.lastMessage.Store(now.UnixNano())
	handle(picoclaw.Inbound{
		Route:       c.exportRoute(r),
		Channel:     c.name,
		Chat:        chat,
		SenderID:    m.SenderKey(),
		SenderName:  m.SenderNick,
		MessageID:   m.MsgID,
		Text:        text,
		Attachments: atts,
		Received:    now,
	})
	return stream.AckOK
}

// rememberRoute stores m's chat and session webhook. A webhook that points
// somewhere other than DingTalk is dropped: replies then go by OpenAPI.
func (c *Channel) rememberRoute(m *botMessage, chat picoclaw.Peer, now time.Time) route {
	webhook := m.SessionWebhook
	if err := c.webhook.AllowedWebhook(webhook); err != nil {
		c.log.Warn("dingtalk: refusing session webhook; replies to this message go by OpenAPI",
			"msg_id", m.MsgID, "err", err)
		webhook = ""
	}
	expiry := m.WebhookExpiry()
	if expiry.IsZero() {
		expiry = now.Add(defaultWebhookTTL)
	}
	r := route{
		webhook:        webhook,
		expiry:         expiry,
		conversationID: m.ConversationID,
		senderStaffID:  m.SenderStaffID,
		chat:           chat,
	}
	c.keepRoute(m.MsgID, r, now)
	return r
}

// keepRoute remembers r for message msgID and saves its chat.
func (c *Channel) keepRoute(msgID string, r route, now time.Time) {
	c.routes.remember(msgID, r, now)
	if c.store != nil {
		// One appended line, no fsync: it survives a kill -9 (see routeStore).
		if err := c.store.record(r); err != nil {
			c.log.Warn("dingtalk: chat not saved; its session webhook will be forgotten on restart", "err", err)
		}
	}
}

// saveRoutes persists every chat route now, if the channel has a StateDir.
func (c *Channel) saveRoutes() {
	if c.store == nil {
		return
	}
	if err := c.store.saveNow(); err != nil {
		c.log.Warn("dingtalk: chats not saved; session webhooks will be forgotten on restart", "err", err)
	}
}

// flushRoutes folds the routes log into the routes file, as Run returns.
func (c *Channel) flushRoutes() {
	if c.store == nil {
		return
	}
	if err := c.store.close(); err != nil {
		c.log.Warn("dingtalk: chats not saved; session webhooks will be forgotten on restart", "err", err)
	}
}

// Close releases what the channel holds beyond Run: its per-chat rate
// limiter, whose queued and later sends then fail with
// errChatLimiterClosed. Call it once the last Send is done (Run may have
// returned long before: answers still finishing are sent after it).
// Replies the channel gives itself and still sending are cancelled and
// waited for first.
func (c *Channel) Close() error {
	c.replies.mu.Lock()
	c.replies.closed = true
	c.replies.mu.Unlock()
	c.replies.cancel()
	c.replies.wg.Wait()
	c.closeCards()
	c.thinking.close()
	c.limiter.Close()
	return nil
}

// ownReplies tracks the replies the channel gives itself (not the agent),
// so that Close can cancel and wait for them.
type ownReplies struct {
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// replyNow sends a reply the channel gives itself in the background: it
// is called before the frame's ack, which must not wait for DingTalk.
func (c *Channel) replyNow(out picoclaw.Outbound) {
	c.replies.mu.Lock()
	defer c.replies.mu.Unlock()
	if c.replies.closed {
		c.log.Warn("dingtalk: closing: reply not sent", "reply_to", out.ReplyTo)
		return
	}
	c.replies.wg.Go(func() {
		ctx, cancel := context.WithTimeout(c.replies.ctx, time.Minute)
		defer cancel()
		if err := c.Send(ctx, out); err != nil {
			c.log.Warn("dingtalk: reply not delivered", "err", err)
		}
	})
}

// withTimeout copies hc (nil: a default client) with its timeout set to
// d, or defaultCallTimeout.
func withTimeout(hc *http.Client, d time.Duration) *http.Client {
	c := http.Client{}
	if hc != nil {
		c = *hc
	}
	c.Timeout = cmp.Or(d, defaultCallTimeout)
	return &c
}
