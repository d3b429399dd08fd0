package dingtalk

import (
	"sync"
	"time"
)

// dedupSet defaults: DingTalk redelivers an unacked bot message within about a
// minute, so half an hour is ample, and 10,000 ids cost well under 1 MB.
const (
	defaultDedupCapacity = 10000
	defaultDedupTTL      = 30 * time.Minute
)

// dedupSet is a bounded set of recently seen ids (frame messageIds, bot
// msgIds). An id is forgotten after its TTL, or earlier when the set is
// full and it is the oldest. Safe for concurrent use.
type dedupSet struct {
	mu    sync.Mutex
	cap   int
	ttl   time.Duration
	now   func() time.Time
	seen  map[string]time.Time // id → expiry
	order []dedupEntry         // insertion order, oldest first
	head  int                  // index of the oldest live entry in order
}

type dedupEntry struct {
	id     string
	expiry time.Time
}

// newDedup returns an empty set. Zero or negative capacity and ttl take the
// defaults; a nil now means time.Now.
func newDedup(capacity int, ttl time.Duration, now func() time.Time) *dedupSet {
	if capacity <= 0 {
		capacity = defaultDedupCapacity
	}
	if ttl <= 0 {
		ttl = defaultDedupTTL
	}
	if now == nil {
		now = time.Now
	}
	return &dedupSet{cap: capacity, ttl: ttl, now: now, seen: make(map[string]time.Time)}
}

// Seen reports whether id was seen within the TTL, and records it if not.
// The empty id is never recorded and never reported as seen.
func (d *dedupSet) Seen(id string) bool {
	if id == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	d.prune(now)
	if exp, ok := d.seen[id]; ok && now.Before(exp) {
		return true
	}
	exp := now.Add(d.ttl)
	d.seen[id] = exp
	d.order = append(d.order, dedupEntry{id, exp})
	for len(d.seen) > d.cap {
		d.pop()
	}
	return false
}

// Len returns the number of ids held.
func (d *dedupSet) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.seen)
}

// prune drops expired entries from the front of the queue.
func (d *dedupSet) prune(now time.Time) {
	for d.head < len(d.order) && !now.Before(d.order[d.head].expiry) {
		d.pop()
	}
}

// pop removes the oldest queue entry, and its id unless the id was
// recorded again later.
func (d *dedupSet) pop() {
	e := d.order[d.head]
	d.order[d.head] = dedupEntry{}
	d.head++
	if exp, ok := d.seen[e.id]; ok && exp.Equal(e.expiry) {
		delete(d.seen, e.id)
	}
	if d.head > len(d.order)/2 && d.head > 64 { // reclaim the consumed front
		d.order = append([]dedupEntry(nil), d.order[d.head:]...)
		d.head = 0
	}
}
