// Package histcache keeps recently used conversation histories decoded, so
// that a turn does not read and decode its whole history again. Each entry
// carries a stamp of the stored state it reflects (a file's identity and
// size, a stream subject's last sequence); its owner decides when a stamp
// still holds. Least recently used entries go first once the bytes they
// were decoded from pass the bound.
package histcache

import (
	"container/list"
	"slices"
	"sync"

	"picoclaw"
)

// DefaultBytes is the usual bound: 2 MiB of stored records.
const DefaultBytes = 2 << 20

// Cache maps session keys to histories stamped with S. Safe for concurrent
// use; histories go in and out as copies.
type Cache[S any] struct {
	mu    sync.Mutex
	max   int64
	total int64
	lru   list.List // of *entry[S]; front is the most recent
	byKey map[picoclaw.SessionKey]*list.Element
}

type entry[S any] struct {
	key   picoclaw.SessionKey
	stamp S
	size  int64 // bytes of the records the messages were decoded from
	msgs  []picoclaw.Message
}

// New returns an empty cache holding histories of up to max bytes in all.
func New[S any](max int64) *Cache[S] {
	return &Cache[S]{max: max, byKey: make(map[picoclaw.SessionKey]*list.Element)}
}

// Get returns a copy of key's history with its stamp and size.
func (c *Cache[S]) Get(key picoclaw.SessionKey) (msgs []picoclaw.Message, stamp S, size int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, stamp, 0, false
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*entry[S])
	return CloneMessages(e.msgs), e.stamp, e.size, true
}

// Put keeps a copy of msgs as key's history, decoded from size bytes in the
// state stamp describes.
func (c *Cache[S]) Put(key picoclaw.SessionKey, stamp S, size int64, msgs []picoclaw.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.removeLocked(el)
	}
	if size > c.max {
		return
	}
	c.byKey[key] = c.lru.PushFront(&entry[S]{key: key, stamp: stamp, size: size, msgs: CloneMessages(msgs)})
	c.total += size
	c.evictLocked()
}

// Extend appends msgs (grow bytes, now in the state after) to key's
// history if held(its stamp) says the cache holds it as it was before the
// append; otherwise it drops key.
func (c *Cache[S]) Extend(key picoclaw.SessionKey, held func(S) bool, after S, grow int64, msgs []picoclaw.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return
	}
	e := el.Value.(*entry[S])
	if !held(e.stamp) || e.size+grow > c.max {
		c.removeLocked(el)
		return
	}
	e.msgs = append(e.msgs, CloneMessages(msgs)...)
	e.stamp = after
	e.size += grow
	c.total += grow
	c.lru.MoveToFront(el)
	c.evictLocked()
}

// Drop forgets key's history.
func (c *Cache[S]) Drop(key picoclaw.SessionKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		c.removeLocked(el)
	}
}

// Has reports whether key's history is held, without making it recent.
func (c *Cache[S]) Has(key picoclaw.SessionKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.byKey[key]
	return ok
}

// Len is the number of histories held.
func (c *Cache[S]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey)
}

// Bytes is the size of the records held, and the bound.
func (c *Cache[S]) Bytes() (held, max int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, c.max
}

func (c *Cache[S]) removeLocked(el *list.Element) {
	e := el.Value.(*entry[S])
	c.total -= e.size
	delete(c.byKey, e.key)
	c.lru.Remove(el)
}

func (c *Cache[S]) evictLocked() {
	for c.total > c.max {
		c.removeLocked(c.lru.Back())
	}
}

// CloneMessages copies msgs deeply enough that neither copy can change the
// other: the slice, tool calls and their arguments.
func CloneMessages(msgs []picoclaw.Message) []picoclaw.Message {
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
