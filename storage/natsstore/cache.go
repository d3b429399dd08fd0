package natsstore

import (
	"container/list"
	"slices"
	"sync"

	"picoclaw"
)

// DefaultCacheBytes bounds the histories a Sessions keeps decoded, counted
// by the size of their records (as session.DefaultCacheBytes does for files).
const DefaultCacheBytes = 2 << 20

// historyCache keeps recently used histories decoded together with the
// sequence of the last record they include. An entry is only used while
// that is still the subject's last sequence (Load asks the server each
// time), so another gateway's write is never hidden by it. Least recently
// used entries go first once the total passes max.
type historyCache struct {
	mu    sync.Mutex
	max   int64
	total int64
	lru   list.List // of *cached; front is the most recent
	byKey map[picoclaw.SessionKey]*list.Element
}

type cached struct {
	key  picoclaw.SessionKey
	seq  uint64 // the subject's last sequence these messages reflect
	size int64  // bytes of the records they were decoded from
	msgs []picoclaw.Message
}

func newHistoryCache(max int64) *historyCache {
	return &historyCache{max: max, byKey: make(map[picoclaw.SessionKey]*list.Element)}
}

// get returns a copy of key's cached history with its sequence and size.
func (c *historyCache) get(key picoclaw.SessionKey) (msgs []picoclaw.Message, seq uint64, size int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, 0, 0, false
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*cached)
	return cloneMessages(e.msgs), e.seq, e.size, true
}

// put keeps a copy of msgs as key's history up to sequence seq.
func (c *historyCache) put(key picoclaw.SessionKey, seq uint64, size int64, msgs []picoclaw.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.removeLocked(el)
	}
	if size > c.max {
		return
	}
	c.byKey[key] = c.lru.PushFront(&cached{key: key, seq: seq, size: size, msgs: cloneMessages(msgs)})
	c.total += size
	c.evictLocked()
}

// extend adds msgs (a record of size bytes now at sequence seq) to key's
// history if the cache holds it at sequence prev; otherwise it drops it.
func (c *historyCache) extend(key picoclaw.SessionKey, prev, seq uint64, size int64, msgs []picoclaw.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return
	}
	e := el.Value.(*cached)
	if e.seq != prev || e.size+size > c.max {
		c.removeLocked(el)
		return
	}
	e.msgs = append(e.msgs, cloneMessages(msgs)...)
	e.seq = seq
	e.size += size
	c.total += size
	c.lru.MoveToFront(el)
	c.evictLocked()
}

// drop forgets key's history.
func (c *historyCache) drop(key picoclaw.SessionKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.removeLocked(el)
	}
}

func (c *historyCache) removeLocked(el *list.Element) {
	e := el.Value.(*cached)
	c.total -= e.size
	delete(c.byKey, e.key)
	c.lru.Remove(el)
}

func (c *historyCache) evictLocked() {
	for c.total > c.max {
		c.removeLocked(c.lru.Back())
	}
}

// cloneMessages copies msgs deeply enough that neither copy can change the
// other: the slice, tool calls and their arguments.
func cloneMessages(msgs []picoclaw.Message) []picoclaw.Message {
	out := slices.Clone(msgs)
	for i := range out {
		if calls := out[i].ToolCalls; calls != nil {
			out[i].ToolCalls = slices.Clone(calls)
			for j := range out[i].ToolCalls {
				out[i].ToolCalls[j].Arguments = slices.Clone(calls[j].Arguments)
			}
		}
		out[i].Images = slices.Clone(out[i].Images)
	}
	return out
}
