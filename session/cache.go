package session

import (
	"container/list"
	"os"
	"slices"
	"sync"

	"picoclaw"
)

// DefaultCacheBytes bounds the histories a Store keeps decoded, counted
// by their files' sizes.
const DefaultCacheBytes = 2 << 20

// historyCache keeps recently used histories decoded, so that a turn does
// not read and decode its whole file again. An entry is only used while
// the file is still the one it describes (same inode, size and
// modification time): Append extends it, Replace and Reset drop it, and a
// change made by another process misses. Least recently used entries go
// first once the total passes max.
type historyCache struct {
	mu    sync.Mutex
	max   int64
	total int64
	lru   list.List // of *cached; front is the most recent
	byKey map[picoclaw.SessionKey]*list.Element
}

type cached struct {
	key  picoclaw.SessionKey
	fi   os.FileInfo // the file the messages were read from
	msgs []picoclaw.Message
}

func newHistoryCache(max int64) *historyCache {
	return &historyCache{max: max, byKey: make(map[picoclaw.SessionKey]*list.Element)}
}

// sameFile reports whether a and b describe the same file in the same
// state.
func sameFile(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// get returns a copy of key's history if the cache holds it for the file
// described by fi.
func (c *historyCache) get(key picoclaw.SessionKey, fi os.FileInfo) ([]picoclaw.Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*cached)
	if !sameFile(e.fi, fi) {
		c.removeLocked(el)
		return nil, false
	}
	c.lru.MoveToFront(el)
	return cloneMessages(e.msgs), true
}

// put keeps a copy of msgs as key's history read from the file fi.
func (c *historyCache) put(key picoclaw.SessionKey, fi os.FileInfo, msgs []picoclaw.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.removeLocked(el)
	}
	if fi.Size() > c.max {
		return
	}
	c.byKey[key] = c.lru.PushFront(&cached{key: key, fi: fi, msgs: cloneMessages(msgs)})
	c.total += fi.Size()
	c.evictLocked()
}

// extend adds msgs to key's history if the cache holds it for the file
// before the append (before), which is now after; otherwise it drops it.
func (c *historyCache) extend(key picoclaw.SessionKey, before, after os.FileInfo, msgs []picoclaw.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return
	}
	e := el.Value.(*cached)
	if !sameFile(e.fi, before) || after.Size() > c.max {
		c.removeLocked(el)
		return
	}
	e.msgs = append(e.msgs, cloneMessages(msgs)...)
	c.total += after.Size() - e.fi.Size()
	e.fi = after
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
	c.total -= e.fi.Size()
	delete(c.byKey, e.key)
	c.lru.Remove(el)
}

func (c *historyCache) evictLocked() {
	for c.total > c.max {
		c.removeLocked(c.lru.Back())
	}
}

// cloneMessages copies msgs deeply enough that neither copy can change
// the other: the slice, tool calls and their arguments.
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
