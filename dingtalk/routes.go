package dingtalk

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"picoclaw"
)

// errNoRoute: a message cannot be delivered: no fresh session webhook is
// known for the chat and OpenAPI cannot reach it either (a single chat
// with a user who has no staff id).
var errNoRoute = errors.New("no reply route")

// defaultWebhookTTL is assumed when a callback carries no
// sessionWebhookExpiredTime; DingTalk's samples all show 90 minutes.
const defaultWebhookTTL = 90 * time.Minute

// maxRoutes bounds each route map; expired routes go first, then the
// ones closest to expiry.
const maxRoutes = 4096

// route is how to answer one message or chat: its session webhook (""
// once DingTalk reported it expired) and who sent the message.
type route struct {
	webhook        string
	expiry         time.Time
	conversationID string
	senderStaffID  string
	chat           picoclaw.Peer
}

// usable reports whether r's webhook may still be posted to: it is known
// and lives longer than margin from now.
func (r route) usable(now time.Time, margin time.Duration) bool {
	return r.webhook != "" && now.Before(r.expiry.Add(-margin))
}

// routes remembers reply routes by message id and by chat. A chat stays
// known after its webhook expires, so that a bare chat id can still be
// told a group from a user.
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
	// One entry a message: evict in batches so the scan is not per message.
	bound(t.byMsg, now, maxRoutes/8)
	t.rememberChatLocked(r, now)
}

// rememberChatLocked keeps the freshest webhook of r's chat: redelivered
// or reordered callbacks may bring an older one.
func (t *routes) rememberChatLocked(r route, now time.Time) {
	if old, ok := t.byChat[r.chat]; !ok || old.webhook == "" || !r.expiry.Before(old.expiry) {
		t.byChat[r.chat] = r
		bound(t.byChat, now, 0)
	}
}

// rememberChat records r as its chat's route (if fresher).
func (t *routes) rememberChat(r route, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rememberChatLocked(r, now)
}

// message returns the route of a message, fresh or not.
func (t *routes) message(msgID string) (route, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byMsg[msgID]
	return r, ok
}

// chat returns the latest route of a chat, fresh or not.
func (t *routes) chat(p picoclaw.Peer) (route, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.byChat[p]
	return r, ok
}

// knownChat finds a chat that wrote to the bot by its bare id: group
// conversation ids first, then direct chat ids.
func (t *routes) knownChat(id string) (picoclaw.Peer, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, kind := range []picoclaw.ChatKind{picoclaw.ChatGroup, picoclaw.ChatDirect} {
		p := picoclaw.Peer{Kind: kind, ID: id}
		if _, ok := t.byChat[p]; ok {
			return p, true
		}
	}
	return picoclaw.Peer{}, false
}

// forget drops a webhook that DingTalk reported expired; the chats it
// served stay known.
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
			r.webhook = ""
			t.byChat[k] = r
		}
	}
}

// chats returns every known chat route.
func (t *routes) chats() []route {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]route, 0, len(t.byChat))
	for _, r := range t.byChat {
		out = append(out, r)
	}
	return out
}

// looksLikeConversationID tells a group's openConversationId ("cid…",
// base64 with + / =) from a staff id (digits, or letters and digits).
func looksLikeConversationID(id string) bool {
	return strings.HasPrefix(id, "cid") || strings.ContainsAny(id, "=+/")
}

// isStaffID reports whether a direct chat id is a staff id, which OpenAPI
// can address, rather than a "$:LWCP_v1:…" sender id, which it cannot.
func isStaffID(id string) bool { return id != "" && !strings.HasPrefix(id, "$:") }

// bound keeps m at most maxRoutes long. Over it, it drops the expired
// routes, then those closest to expiry until maxRoutes-slack are left:
// with a slack the O(n) pass runs once every slack inserts, not on each.
func bound[K comparable](m map[K]route, now time.Time, slack int) {
	if len(m) <= maxRoutes {
		return
	}
	type entry struct {
		k   K
		exp time.Time
	}
	live := make([]entry, 0, len(m))
	for k, r := range m {
		if !now.Before(r.expiry) {
			delete(m, k)
			continue
		}
		live = append(live, entry{k, r.expiry})
	}
	keep := maxRoutes - slack
	if len(live) <= keep {
		return
	}
	slices.SortFunc(live, func(a, b entry) int { return a.exp.Compare(b.exp) })
	for _, e := range live[:len(live)-keep] {
		delete(m, e.k)
	}
}
