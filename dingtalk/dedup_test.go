package dingtalk

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"picoclaw/internal/testutil"
)

func TestDedupSeen(t *testing.T) {
	clock := testutil.NewClock(time.Unix(1700000000, 0))
	d := newDedup(100, time.Minute, clock.Now)
	steps := []struct {
		advance time.Duration
		id      string
		want    bool
	}{
		{0, "a", false},
		{0, "a", true},
		{0, "b", false},
		{59 * time.Second, "a", true},
		{time.Second, "a", false}, // a's TTL ran out; recorded afresh
		{0, "a", true},
		{0, "b", false}, // b expired too
		{0, "", false},
		{0, "", false}, // the empty id is never recorded
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if got := d.Seen(s.id); got != s.want {
			t.Errorf("step %d: Seen(%q) = %v, want %v", i, s.id, got, s.want)
		}
	}
}

func TestDedupCapacity(t *testing.T) {
	clock := testutil.NewClock(time.Unix(1700000000, 0))
	d := newDedup(3, time.Hour, clock.Now)
	for _, id := range []string{"a", "b", "c", "d"} {
		d.Seen(id)
	}
	if d.Len() != 3 {
		t.Errorf("Len() = %d, want 3", d.Len())
	}
	if d.Seen("b") != true || d.Seen("d") != true {
		t.Errorf("recent ids forgotten")
	}
	if d.Seen("a") { // the oldest was evicted
		t.Errorf("Seen(a) = true after eviction")
	}
}

func TestDedupStaysBounded(t *testing.T) {
	clock := testutil.NewClock(time.Unix(1700000000, 0))
	d := newDedup(50, time.Minute, clock.Now)
	for i := range 10000 {
		d.Seen(fmt.Sprint(i % 120))
		clock.Advance(time.Second)
	}
	if d.Len() > 50 {
		t.Errorf("Len() = %d, want at most 50", d.Len())
	}
	d.mu.Lock()
	queued := len(d.order) - d.head
	d.mu.Unlock()
	if queued > 2*50+64 {
		t.Errorf("queue holds %d entries for 50 ids", queued)
	}
}

func TestDedupDefaults(t *testing.T) {
	d := newDedup(0, 0, nil)
	if d.cap != defaultDedupCapacity || d.ttl != defaultDedupTTL || d.now == nil {
		t.Errorf("defaults: cap %d ttl %v", d.cap, d.ttl)
	}
}

func TestDedupConcurrent(t *testing.T) {
	d := newDedup(1000, time.Hour, nil)
	const goroutines = 8
	var firsts sync.WaitGroup
	results := make(chan bool, goroutines*100)
	for range goroutines {
		firsts.Go(func() {
			for i := range 100 {
				results <- !d.Seen(fmt.Sprint("id", i))
			}
		})
	}
	firsts.Wait()
	close(results)
	fresh := 0
	for r := range results {
		if r {
			fresh++
		}
	}
	if fresh != 100 {
		t.Errorf("%d ids reported new, want exactly 100", fresh)
	}
}
