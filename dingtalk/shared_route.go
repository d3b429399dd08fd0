package dingtalk

import (
	"encoding/json"
	"time"

	"picoclaw"
)

// sharedRoute is a route as it travels in Inbound.Route between gateways
// sharing one queue. Versioned: gateways of two releases may share it.
type sharedRoute struct {
	V              int    `json:"v"`
	Webhook        string `json:"webhook,omitempty"`
	Expiry         int64  `json:"expiry_ms"`
	ConversationID string `json:"conversation_id,omitempty"`
	SenderStaffID  string `json:"sender_staff_id,omitempty"`
}

const sharedRouteVersion = 1

// exportRoute encodes r for Inbound.Route when routes are shared.
func (c *Channel) exportRoute(r route) []byte {
	if !c.cfg.ShareRoutes {
		return nil
	}
	b, err := json.Marshal(sharedRoute{V: sharedRouteVersion, Webhook: r.webhook, Expiry: r.expiry.UnixMilli(),
		ConversationID: r.conversationID, SenderStaffID: r.senderStaffID})
	if err != nil {
		return nil // cannot happen for strings and ints; the answer then goes by OpenAPI
	}
	return b
}

// Adopt takes the reply route another gateway received with in, so that
// this one, running the turn, answers through the same session webhook.
// The webhook is checked again: the queue is storage, not a trusted
// source of URLs. A message whose route this gateway already knows (it
// received it itself) is left alone.
func (c *Channel) Adopt(in picoclaw.Inbound) {
	if len(in.Route) == 0 || in.Channel != c.name {
		return
	}
	if _, ok := c.routes.message(in.MessageID); ok {
		return
	}
	var s sharedRoute
	if err := json.Unmarshal(in.Route, &s); err != nil || s.V != sharedRouteVersion {
		c.log.Warn("dingtalk: unreadable shared reply route; this answer goes by OpenAPI", "msg_id", in.MessageID, "err", err)
		return
	}
	if s.Webhook != "" {
		if err := c.webhook.AllowedWebhook(s.Webhook); err != nil {
			c.log.Warn("dingtalk: refusing shared session webhook; this answer goes by OpenAPI", "msg_id", in.MessageID, "err", err)
			s.Webhook = ""
		}
	}
	r := route{webhook: s.Webhook, expiry: time.UnixMilli(s.Expiry), conversationID: s.ConversationID,
		senderStaffID: s.SenderStaffID, chat: in.Chat}
	c.keepRoute(in.MessageID, r, c.now())
}
