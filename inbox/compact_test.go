package inbox

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"picoclaw/internal/testutil"
)

func TestCompactionRetention(t *testing.T) {
	clock := &testutil.Clock{}
	cfg := defaultConfig()
	cfg.now = clock.Now
	cfg.maxRecords = 7 // the seventh record below triggers compaction
	dir := t.TempDir()
	rec := &logRecorder{}
	T := testTime.Add(8 * 24 * time.Hour)

	clock.Set(testTime)
	b := openT(t, dir, cfg, slog.New(rec))
	mustAccept(t, b, "old-pending") // 8 days old at T: dropped
	clock.Set(T.Add(-6 * 24 * time.Hour))
	mustAccept(t, b, "pending") // 6 days old at T: kept
	clock.Set(T.Add(-3 * 24 * time.Hour))
	mustAccept(t, b, "old-done")
	clock.Set(T.Add(-2 * 24 * time.Hour))
	mustDone(t, b, "old-done") // done 2 days before T: forgotten
	clock.Set(T.Add(-2 * time.Hour))
	mustAccept(t, b, "recent-done")
	clock.Set(T.Add(-1 * time.Hour))
	mustDone(t, b, "recent-done")     // done 1 hour before T: remembered
	if err := b.Flush(); err != nil { // Done records wait for a write
		t.Fatal(err)
	}
	if n := len(journalLines(t, dir)); n != 6 {
		t.Fatalf("journal has %d lines before compaction, want 6", n)
	}

	clock.Set(T)
	mustAccept(t, b, "new") // seventh record

	check := func(t *testing.T, b *Inbox) {
		t.Helper()
		if got, want := pendingIDs(b), []string{"pending", "new"}; !slices.Equal(got, want) {
			t.Errorf("Pending = %v, want %v", got, want)
		}
		for id, want := range map[string]bool{
			"old-pending": false, "pending": true, "old-done": false,
			"recent-done": true, "new": true,
		} {
			if got := b.Seen(id); got != want {
				t.Errorf("Seen(%s) = %v, want %v", id, got, want)
			}
		}
	}
	t.Run("in memory", func(t *testing.T) { check(t, b) })

	lines := journalLines(t, dir)
	if len(lines) != 3 {
		t.Errorf("journal after compaction has %d lines, want 3:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if n := rec.count("dropped message pending too long"); n != 1 || !strings.Contains(rec.warnings()[0], "old-pending") {
		t.Errorf("warnings = %q, want one naming old-pending", rec.warnings())
	}

	b = reopenT(t, b, nil)
	t.Run("after reopen", func(t *testing.T) { check(t, b) })

	// The rewritten journal keeps taking appends.
	mustDone(t, b, "pending")
	b = reopenT(t, b, nil)
	if got := pendingIDs(b); !slices.Equal(got, []string{"new"}) {
		t.Errorf("Pending after Done and reopen = %v, want [new]", got)
	}
}

func TestCompactionAtOpen(t *testing.T) {
	clock := &testutil.Clock{}
	clock.Set(testTime)
	cfg := defaultConfig()
	cfg.now = clock.Now
	dir := t.TempDir()
	b := openT(t, dir, cfg, nil)
	for _, id := range []string{"a", "b", "c"} {
		mustAccept(t, b, id)
		mustDone(t, b, id)
	}
	mustAccept(t, b, "p")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened two days later with a small limit: the old done ids go.
	clock.Set(testTime.Add(48 * time.Hour))
	cfg.maxRecords = 5
	b = openT(t, dir, cfg, nil)
	if lines := journalLines(t, dir); len(lines) != 1 {
		t.Errorf("journal after open has %d lines, want 1", len(lines))
	}
	if b.Seen("a") || !b.Seen("p") {
		t.Errorf("Seen(a), Seen(p) = %v, %v; want false, true", b.Seen("a"), b.Seen("p"))
	}
}

func TestCompactionBySize(t *testing.T) {
	cfg := fixedConfig()
	cfg.maxBytes = 4096
	dir := t.TempDir()
	b := openT(t, dir, cfg, nil)
	var ids []string
	for i := range 100 {
		id := "m" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		ids = append(ids, id)
		mustAccept(t, b, id)
		mustDone(t, b, id)
	}
	mustAccept(t, b, "last")
	fi, err := os.Stat(filepath.Join(dir, journalName))
	if err != nil {
		t.Fatal(err)
	}
	// Uncompacted, 100 accepts (~400 bytes) and 100 dones (~60) make
	// ~46 KB; the live state is 100 done records (~6 KB) and one accept,
	// and the journal may grow to twice that before the next rewrite.
	if fi.Size() > 16_000 {
		t.Errorf("journal is %d bytes; compaction by size did not run", fi.Size())
	}
	b = reopenT(t, b, nil)
	for _, id := range ids {
		if !b.Seen(id) {
			t.Errorf("Seen(%s) = false after compactions", id)
		}
	}
	if got := pendingIDs(b); !slices.Equal(got, []string{"last"}) {
		t.Errorf("Pending = %v, want [last]", got)
	}
}

func TestCompactionDoesNotThrash(t *testing.T) {
	// More done ids within retention than maxRecords: the threshold rises
	// instead of rewriting the journal on every append.
	cfg := fixedConfig()
	cfg.maxRecords = 10
	dir := t.TempDir()
	b := openT(t, dir, cfg, nil)
	var ids []string
	for i := range 200 {
		id := "m" + string(rune('A'+i%50)) + string(rune('A'+i/50))
		ids = append(ids, id)
		mustAccept(t, b, id)
		mustDone(t, b, id)
	}
	b.mu.Lock()
	records, threshold := b.records, b.compactRecords
	b.mu.Unlock()
	if threshold < 200 {
		t.Errorf("compaction threshold = %d with 200 live done ids, want >= 200", threshold)
	}
	if records > threshold {
		t.Errorf("journal has %d records, above its threshold %d", records, threshold)
	}
	b = reopenT(t, b, nil)
	if p := pendingIDs(b); len(p) != 0 {
		t.Errorf("Pending = %v, want none", p)
	}
	for _, id := range ids {
		if !b.Seen(id) {
			t.Errorf("Seen(%s) = false after compactions", id)
		}
	}
}

// Done ids are capped by count as well as age, newest kept, so a busy bot's
// memory and journal stay bounded.
func TestCompactionCapsDoneIDs(t *testing.T) {
	clock := &testutil.Clock{}
	cfg := defaultConfig()
	cfg.now = clock.Now
	cfg.maxDone = 3
	cfg.maxRecords = 12 // the twelfth record below triggers compaction
	clock.Set(testTime)
	b := openT(t, t.TempDir(), cfg, nil)
	ids := []string{"d1", "d2", "d3", "d4", "d5"}
	for i, id := range ids {
		clock.Set(testTime.Add(time.Duration(i) * time.Minute))
		mustAccept(t, b, id)
		mustDone(t, b, id)
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	clock.Set(testTime.Add(time.Hour))
	mustAccept(t, b, "p1")
	mustAccept(t, b, "p2") // twelfth record: compaction
	for id, want := range map[string]bool{"d1": false, "d2": false, "d3": true, "d4": true, "d5": true, "p1": true} {
		if got := b.Seen(id); got != want {
			t.Errorf("Seen(%s) = %v, want %v", id, got, want)
		}
	}
}
