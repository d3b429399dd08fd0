package dingtalk

import (
	"errors"
	"strings"
	"sync"
	"time"

	"picoclaw"
)

// ErrNoRoute: no fresh session webhook is known for the chat, so a reply
// cannot be delivered (OpenAPI delivery is not implemented yet).
var ErrNoRoute = errors.New("no reply route")

// DefaultWebhookTTL is assumed when a callback carries no
// sessionWebhookExpiredTime; DingTalk's samples all show 90 minutes.
const DefaultWebhookTTL = 90 * time.Minute

// maxRoutes bounds each route map; expired routes go first, then the
// ones closest to expiry.
const maxRoutes = 4096

// route is how to answer one message or chat: its session webhook.
type route struct {
	webhook        string
	expiry         time.Time
	conversationID string
	senderStaffID  string
	chat           picoclaw.Peer
}

// routes remembers reply routes by message id and by chat.
type routes struct {
	mu     sync.Mutex
	byMsg  map[string]route
	byChat map[picoclaw.Peer]route
}

func newRoutes() *routes {
	return &routes{byMsg: make(map[string]route), byChat: make(map[picoclaw.Peer]route)}
}

// remember records the route of message msgID in chat.
func (t *routes) remember(msgID string, r route, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byMsg[msgID] = r
	bound(t.byMsg, now)
	// Keep the freshest webhook: redelivered or reordered callbacks may
	// bring an older one.
	if old, ok := t.byChat[r.chat]; !ok || !r.expiry.Before(old.expiry) {
		t.byChat[r.chat] = r
		bound(t.byChat, now)
	}
}

// forMessage returns the route of a message, if known and fresh.
func (t *routes) forMessage(msgID string, now time.Time) (route, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fresh(t.byMsg, msgID, now)
}

// forChat returns the latest fresh route of a chat.
func (t *routes) forChat(chat picoclaw.Peer, now time.Time) (route, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fresh(t.byChat, chat, now)
}

// resolveChat turns a configured chat id into a known chat:
// "dingtalk:direct:<id>", "dingtalk:group:<id>", or a bare id matched
// against known group conversation ids, then direct chat ids.
func (t *routes) resolveChat(target string, now time.Time) (picoclaw.Peer, route, bool) {
	if rest, ok := strings.CutPrefix(target, "dingtalk:direct:"); ok {
		p := picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: rest}
		r, ok := t.forChat(p, now)
		return p, r, ok
	}
	if rest, ok := strings.CutPrefix(target, "dingtalk:group:"); ok {
		p := picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: rest}
		r, ok := t.forChat(p, now)
		return p, r, ok
	}
	for _, kind := range []picoclaw.ChatKind{picoclaw.ChatGroup, picoclaw.ChatDirect} {
		p := picoclaw.Peer{Kind: kind, ID: target}
		if r, ok := t.forChat(p, now); ok {
			return p, r, true
		}
	}
	return picoclaw.Peer{}, route{}, false
}

// forget drops a webhook that DingTalk reported expired.
func (t *routes) forget(webhook string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, r := range t.byMsg {
		if r.webhook == webhook {
			delete(t.byMsg, k)
		}
	}
	for k, r := range t.byChat {
		if r.webhook == webhook {
			delete(t.byChat, k)
		}
	}
}

func fresh[K comparable](m map[K]route, k K, now time.Time) (route, bool) {
	r, ok := m[k]
	if !ok {
		return route{}, false
	}
	if !now.Before(r.expiry) {
		delete(m, k)
		return route{}, false
	}
	return r, true
}

// bound keeps m at most maxRoutes long. It scans only when over the bound.
func bound[K comparable](m map[K]route, now time.Time) {
	if len(m) <= maxRoutes {
		return
	}
	var oldest K
	var oldestExp time.Time
	first := true
	for k, r := range m {
		if !now.Before(r.expiry) {
			delete(m, k)
			continue
		}
		if first || r.expiry.Before(oldestExp) {
			oldest, oldestExp, first = k, r.expiry, false
		}
	}
	if len(m) > maxRoutes && !first {
		delete(m, oldest)
	}
}
