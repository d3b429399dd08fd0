package histcache

import (
	"testing"

	"picoclaw"
)

func msg(s string) picoclaw.Message { return picoclaw.Message{Role: picoclaw.RoleUser, Content: s} }

// TestExtendOnlyWhatIsHeld: an append extends the cached history only if
// the cache holds the state the append was made on; otherwise the entry
// goes (another writer got in between), so a stale history is never used.
func TestExtendOnlyWhatIsHeld(t *testing.T) {
	c := New[uint64](1 << 10)
	c.Put("k", 1, 10, []picoclaw.Message{msg("a")})
	c.Extend("k", func(s uint64) bool { return s == 1 }, 2, 10, []picoclaw.Message{msg("b")})
	got, stamp, size, ok := c.Get("k")
	if !ok || stamp != 2 || size != 20 || len(got) != 2 || got[1].Content != "b" {
		t.Fatalf("after extend: %v %d %d %v", got, stamp, size, ok)
	}
	c.Extend("k", func(s uint64) bool { return s == 7 }, 8, 10, []picoclaw.Message{msg("c")})
	if c.Has("k") {
		t.Fatal("an extend on a state the cache does not hold kept the entry")
	}
}

// TestEvictsLeastRecentAndCopies: the bound holds, the least recently used
// history goes first, and callers' copies never reach the cache.
func TestEvictsLeastRecentAndCopies(t *testing.T) {
	c := New[int](25)
	c.Put("a", 0, 10, []picoclaw.Message{msg("a")})
	c.Put("b", 0, 10, []picoclaw.Message{msg("b")})
	got, _, _, _ := c.Get("a") // a is now the most recent
	got[0].Content = "changed"
	c.Put("c", 0, 10, []picoclaw.Message{msg("c")})
	if !c.Has("a") || c.Has("b") || !c.Has("c") {
		t.Fatalf("held a=%v b=%v c=%v; want b evicted", c.Has("a"), c.Has("b"), c.Has("c"))
	}
	if held, max := c.Bytes(); held > max {
		t.Fatalf("%d bytes held, bound %d", held, max)
	}
	if again, _, _, _ := c.Get("a"); again[0].Content != "a" {
		t.Fatalf("a caller's change reached the cache: %q", again[0].Content)
	}
	c.Put("huge", 0, 100, []picoclaw.Message{msg("x")})
	if c.Has("huge") || c.Len() != 2 {
		t.Fatalf("a history over the bound was kept (len %d)", c.Len())
	}
}
