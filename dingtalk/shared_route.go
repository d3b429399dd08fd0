package dingtalk

import (
	"context"
	"encoding/json"
	"time"

	"picoclaw"
)

// sharedRoute is a route as it travels between gateways sharing one bot:
// in Inbound.Route, and in the RouteShare. Versioned: gateways of two
// releases may share it.
type sharedRoute struct {
	V              int    `json:"v"`
	Webhook        string `json:"webhook,omitempty"`
	Expiry         int64  `json:"expiry_ms"`
	ConversationID string `json:"conversation_id,omitempty"`
	SenderStaffID  string `json:"sender_staff_id,omitempty"`
}

const sharedRouteVersion = 1

// RouteShare keeps chat routes where every gateway serving the bot finds
// them (a NATS KV bucket with per-key TTL, storage.backend "nats"), so
// that a proactive message (cron, the message tool) from a gateway that
// never saw the chat still goes through the chat's session webhook.
type RouteShare interface {
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
}

// routeShareTimeout bounds one Put or Get: a turn or an answer waits for it.
const routeShareTimeout = 2 * time.Second

// exportRoute encodes r for Inbound.Route when routes are shared.
func (c *Channel) exportRoute(r route) []byte {
	if !c.cfg.ShareRoutes {
		return nil
	}
	return encodeRoute(r)
}

func encodeRoute(r route) []byte {
	b, err := json.Marshal(sharedRoute{V: sharedRouteVersion, Webhook: r.webhook, Expiry: r.expiry.UnixMilli(),
		ConversationID: r.conversationID, SenderStaffID: r.senderStaffID})
	if err != nil {
		return nil // cannot happen for strings and ints; the answer then goes by OpenAPI
	}
	return b
}

// importRoute decodes a shared route of chat. The webhook is checked
// again: shared storage is not a trusted source of URLs.
func (c *Channel) importRoute(raw []byte, chat picoclaw.Peer, msgID string) (route, bool) {
	var s sharedRoute
	if err := json.Unmarshal(raw, &s); err != nil || s.V != sharedRouteVersion {
		c.log.Warn("dingtalk: unreadable shared reply route; this answer goes by OpenAPI", "msg_id", msgID, "err", err)
		return route{}, false
	}
	if s.Webhook != "" {
		if err := c.webhook.AllowedWebhook(s.Webhook); err != nil {
			c.log.Warn("dingtalk: refusing shared session webhook; this answer goes by OpenAPI", "msg_id", msgID, "err", err)
			s.Webhook = ""
		}
	}
	return route{webhook: s.Webhook, expiry: time.UnixMilli(s.Expiry), conversationID: s.ConversationID,
		senderStaffID: s.SenderStaffID, chat: chat}, true
}

// Adopt takes the reply route another gateway received with in, so that
// this one, running the turn, answers through the same session webhook,
// and shares the chat's route with every gateway (see RouteShare). A
// message whose route this gateway already knows (it received it itself)
// keeps it.
func (c *Channel) Adopt(in picoclaw.Inbound) {
	if len(in.Route) == 0 || in.Channel != c.name {
		return
	}
	r, known := c.routes.message(in.MessageID)
	if !known {
		var ok bool
		if r, ok = c.importRoute(in.Route, in.Chat, in.MessageID); !ok {
			return
		}
		c.keepRoute(in.MessageID, r, c.now())
	}
	c.shareRoute(r)
}

// shareKey names chat's route in the RouteShare.
func (c *Channel) shareKey(chat picoclaw.Peer) string {
	return c.name + ":" + chat.Kind.String() + ":" + chat.ID
}

// shareRoute stores r as its chat's latest route, until its webhook expires.
func (c *Channel) shareRoute(r route) {
	if c.cfg.SharedRoutes == nil || r.webhook == "" {
		return
	}
	ttl := r.expiry.Sub(c.now())
	if ttl < time.Second {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), routeShareTimeout)
	defer cancel()
	if err := c.cfg.SharedRoutes.Put(ctx, c.shareKey(r.chat), encodeRoute(r), ttl); err != nil {
		c.log.Warn("dingtalk: chat route not shared; other gateways reach this chat by OpenAPI", "err", err)
	}
}

// sharedChatRoute looks chat's route up in the RouteShare and keeps it.
func (c *Channel) sharedChatRoute(ctx context.Context, chat picoclaw.Peer) (route, bool) {
	if c.cfg.SharedRoutes == nil {
		return route{}, false
	}
	ctx, cancel := context.WithTimeout(ctx, routeShareTimeout)
	defer cancel()
	raw, ok, err := c.cfg.SharedRoutes.Get(ctx, c.shareKey(chat))
	if err != nil {
		c.log.Warn("dingtalk: shared chat route unreadable; this message goes by OpenAPI", "err", err)
		return route{}, false
	}
	if !ok {
		return route{}, false
	}
	r, ok := c.importRoute(raw, chat, "")
	if !ok || r.webhook == "" {
		return route{}, false
	}
	c.routes.rememberChat(r, c.now())
	return r, true
}
