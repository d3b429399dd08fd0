package inbox

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// hourConfig keeps Done records waiting until something else writes.
func hourConfig() config {
	cfg := fixedConfig()
	cfg.doneDelay = time.Hour
	return cfg
}

func TestDoneIsVisibleAtOnceAndWrittenLater(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, hourConfig(), nil)
	mustAccept(t, b, "a")
	mustDone(t, b, "a")
	if len(b.Pending()) != 0 || !b.Seen("a") {
		t.Errorf("after Done: pending %v, seen %v; want none, true", pendingIDs(b), b.Seen("a"))
	}
	if lines := journalLines(t, dir); len(lines) != 1 {
		t.Errorf("journal has %d lines, want only the accept (the done waits):\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

func TestDoneGoesOutWithNextAccept(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, hourConfig(), nil)
	mustAccept(t, b, "a")
	mustDone(t, b, "a")
	mustAccept(t, b, "b")
	lines := journalLines(t, dir)
	if len(lines) != 3 || !strings.Contains(lines[1], `"op":"done","id":"a"`) || !strings.Contains(lines[2], `"id":"b"`) {
		t.Fatalf("journal, want accept a, done a, accept b:\n%s", strings.Join(lines, "\n"))
	}
	// What the journal says is what a restart after kill -9 sees.
	copied := t.TempDir()
	writeJournal(t, copied, strings.Join(lines, "\n")+"\n")
	again := openT(t, copied, hourConfig(), nil)
	if got := pendingIDs(again); len(got) != 1 || got[0] != "b" {
		t.Errorf("pending after replay %v, want [b]", got)
	}
}

func TestDoneWrittenAfterDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		cfg := fixedConfig()
		cfg.doneDelay = 100 * time.Millisecond
		b := openT(t, dir, cfg, nil)
		mustAccept(t, b, "a")
		mustDone(t, b, "a")
		mustDone(t, b, "b") // never accepted: recorded anyway
		time.Sleep(cfg.doneDelay - time.Millisecond)
		synctest.Wait()
		if n := len(journalLines(t, dir)); n != 1 {
			t.Fatalf("journal has %d lines before the delay, want 1", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if lines := journalLines(t, dir); len(lines) != 3 {
			t.Fatalf("journal after the delay, want both done records:\n%s", strings.Join(lines, "\n"))
		}
		// Another Done starts a new wait.
		mustAccept(t, b, "c")
		mustDone(t, b, "c")
		time.Sleep(cfg.doneDelay)
		synctest.Wait()
		if n := len(journalLines(t, dir)); n != 5 {
			t.Errorf("journal has %d lines, want 5", n)
		}
	})
}

func TestCloseWritesWaitingDone(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, hourConfig(), nil)
	mustAccept(t, b, "a")
	mustAccept(t, b, "b")
	mustDone(t, b, "a")
	b = reopenT(t, b, nil)
	if got := pendingIDs(b); len(got) != 1 || got[0] != "b" || !b.Seen("a") {
		t.Errorf("after close and reopen: pending %v, seen a %v; want [b], true", got, b.Seen("a"))
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Done("b"); err == nil {
		t.Error("Done after Close succeeded")
	}
	if err := b.Flush(); err == nil {
		t.Error("Flush after Close succeeded")
	}
}

// An attempt record is in the journal when Attempt returns (a kill -9
// mid-turn still counts it) but its fdatasync is not waited for: the next
// Accept's covers it, or the delayed flush DoneDelay later.
func TestAttemptWrittenAtOnceSyncedLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		cfg := fixedConfig()
		cfg.doneDelay = 100 * time.Millisecond
		b := openT(t, dir, cfg, nil)
		mustAccept(t, b, "a")
		if n, err := b.Attempt("a"); err != nil || n != 1 {
			t.Fatalf("Attempt = %d, %v; want 1", n, err)
		}
		if lines := journalLines(t, dir); len(lines) != 2 || !strings.Contains(lines[1], `"op":"attempt"`) {
			t.Fatalf("journal after Attempt, want accept and attempt:\n%s", strings.Join(lines, "\n"))
		}
		if b.gs.Synced() == b.gs.Last() {
			t.Fatal("Attempt waited for an fdatasync")
		}
		time.Sleep(cfg.doneDelay)
		synctest.Wait()
		if b.gs.Synced() != b.gs.Last() {
			t.Error("attempt record not synced DoneDelay after Attempt")
		}
		// The next Accept's sync covers a later attempt.
		if _, err := b.Attempt("a"); err != nil {
			t.Fatal(err)
		}
		mustAccept(t, b, "b")
		if b.gs.Synced() != b.gs.Last() {
			t.Error("attempt record not synced with the next Accept")
		}
	})
}
