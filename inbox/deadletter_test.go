package inbox

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The attempt count of a pending message survives a crash (no Close) and
// a compaction, so a message whose turns keep dying is recognised.
func TestAttemptsSurviveCrashAndCompaction(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, fixedConfig(), nil)
	mustAccept(t, b, "m1")
	mustAccept(t, b, "m2")
	if n, err := b.Attempt("m1"); err != nil || n != 1 {
		t.Fatalf("Attempt = %d, %v; want 1", n, err)
	}
	// A crash: the journal is read by a new inbox without closing the old.
	b2 := openT(t, dir, fixedConfig(), nil)
	if n, err := b2.Attempt("m1"); err != nil || n != 2 {
		t.Fatalf("Attempt after a crash = %d, %v; want 2", n, err)
	}
	if err := b2.compact(); err != nil {
		t.Fatal(err)
	}
	b3 := reopenT(t, b2, nil)
	if n, err := b3.Attempt("m1"); err != nil || n != 3 {
		t.Fatalf("Attempt after a compaction = %d, %v; want 3", n, err)
	}
	// A cleanly cancelled turn (graceful shutdown) does not count.
	if err := b3.Release("m1"); err != nil {
		t.Fatal(err)
	}
	b4 := openT(t, dir, fixedConfig(), nil)
	if n, err := b4.Attempt("m1"); err != nil || n != 3 {
		t.Fatalf("Attempt after a release = %d, %v; want 3 again", n, err)
	}
	if n, err := b3.Attempt("m2"); err != nil || n != 1 {
		t.Fatalf("Attempt of another message = %d, %v; want 1", n, err)
	}
	if n, err := b3.Attempt("unknown"); err != nil || n != 0 {
		t.Fatalf("Attempt of an unknown id = %d, %v; want 0", n, err)
	}
}

// A dead-lettered message is kept with its reason in the dead-letter
// file (0600) and is never pending again, even after a restart.
func TestDeadLetter(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, fixedConfig(), nil)
	mustAccept(t, b, "m1")
	if _, err := b.Attempt("m1"); err != nil {
		t.Fatal(err)
	}
	in := b.Pending()[0]
	if err := b.DeadLetter(in, "turn crashed twice"); err != nil {
		t.Fatal(err)
	}
	if len(b.Pending()) != 0 || !b.Seen("m1") {
		t.Error("a dead-lettered message is still pending")
	}
	b2 := reopenT(t, b, nil)
	if len(b2.Pending()) != 0 {
		t.Error("a dead-lettered message came back after a restart")
	}
	path := filepath.Join(dir, DeadLetterName)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("dead-letter file mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	var dl struct {
		Reason   string         `json:"reason"`
		Attempts int            `json:"attempts"`
		In       map[string]any `json:"in"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(raw))), &dl); err != nil {
		t.Fatalf("dead-letter line %q: %v", raw, err)
	}
	if dl.Reason != "turn crashed twice" || dl.Attempts != 1 || dl.In["message_id"] != "m1" || dl.In["text"] != in.Text {
		t.Errorf("dead-letter record = %+v", dl)
	}
}
