package inbox

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"picoclaw/internal/fsutil"
)

// line encodes one journal record as Accept or Done would.
func line(t *testing.T, op, id string) string {
	t.Helper()
	r := record{Op: op, ID: id, At: testTime}
	if op == opAccept {
		in := newInbound(id)
		r.In = &in
	}
	w, err := toWire(&r)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return string(data) + "\n"
}

func TestTornLastLine(t *testing.T) {
	full := line(t, opAccept, "b")
	tests := []struct {
		name string
		tail string
	}{
		{"half an accept", full[:len(full)/2]},
		{"accept without newline", strings.TrimSuffix(full, "\n")},
		{"one byte", "{"},
		{"zeros", "\x00\x00\x00\x00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeJournal(t, dir, line(t, opAccept, "a")+tt.tail)
			rec := &logRecorder{}
			b := openT(t, dir, fixedConfig(), slog.New(rec))
			if got := pendingIDs(b); !slices.Equal(got, []string{"a"}) {
				t.Errorf("Pending = %v, want [a]", got)
			}
			if b.Seen("b") {
				t.Error("Seen(b) = true for a torn record")
			}
			if rec.count("torn") != 1 {
				t.Errorf("warnings = %q, want one about the torn line", rec.warnings())
			}

			// The next record must land on a line of its own.
			mustAccept(t, b, "c")
			rec2 := &logRecorder{}
			b = reopenT(t, b, slog.New(rec2))
			if got := pendingIDs(b); !slices.Equal(got, []string{"a", "c"}) {
				t.Errorf("Pending after append and reopen = %v, want [a c]", got)
			}
			if w := rec2.warnings(); len(w) != 0 {
				t.Errorf("second open warned: %q", w)
			}
		})
	}
}

func TestPartialWriteThenAppend(t *testing.T) {
	// A write that failed halfway leaves a partial line at the end of the
	// journal; the next append starts with a newline so its record stays
	// whole, and replay skips the partial line.
	dir := t.TempDir()
	b := openT(t, dir, fixedConfig(), nil)
	mustAccept(t, b, "a")
	b.mu.Lock()
	if _, err := b.f.Write([]byte(`{"op":"accept","id":"b","in":{"Chan`)); err != nil {
		t.Fatal(err)
	}
	b.needNewline = true // what append sets when its write fails
	b.mu.Unlock()
	mustAccept(t, b, "c")

	rec := &logRecorder{}
	b = reopenT(t, b, slog.New(rec))
	if got := pendingIDs(b); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("Pending = %v, want [a c]", got)
	}
	if n := rec.count("corrupt"); n != 1 {
		t.Errorf("warnings = %q, want one about the partial line", rec.warnings())
	}
}

func TestCorruptMiddleLines(t *testing.T) {
	dir := t.TempDir()
	journal := line(t, opAccept, "a") +
		"this is not json\n" +
		line(t, opAccept, "b") +
		`{"op":"explode","id":"x"}` + "\n" +
		`{"op":"accept","id":"","at":"2025-03-01T12:00:00Z"}` + "\n" +
		`{"op":"accept","id":"y","at":"2025-03-01T12:00:00Z"}` + "\n" + // no message
		"\n" + // blank lines are harmless
		line(t, opDone, "a") +
		"\x00\x00garbage\x00\n" +
		line(t, opAccept, "c")
	writeJournal(t, dir, journal)
	rec := &logRecorder{}
	b := openT(t, dir, fixedConfig(), slog.New(rec))

	if got := pendingIDs(b); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("Pending = %v, want [b c]", got)
	}
	if !b.Seen("a") || b.Seen("x") || b.Seen("y") {
		t.Errorf("Seen(a,x,y) = %v,%v,%v; want true,false,false", b.Seen("a"), b.Seen("x"), b.Seen("y"))
	}
	w := rec.warnings()
	if len(w) != 5 {
		t.Fatalf("got %d warnings, want 5 (one per bad line): %q", len(w), w)
	}
	for i, wantLine := range []string{"line=2", "line=4", "line=5", "line=6", "line=9"} {
		if !strings.Contains(w[i], wantLine) {
			t.Errorf("warning %d = %q, want it to name %s", i, w[i], wantLine)
		}
	}
	// Warnings must not echo the user's text.
	for _, s := range w {
		if strings.Contains(s, "hello") || strings.Contains(s, "garbage") {
			t.Errorf("warning leaks line content: %q", s)
		}
	}
}

func TestStaleTempRemoved(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
	}{
		{name: "fsutil", prefix: fsutil.TempPrefix(journalName)},
		{name: "earlier builds", prefix: legacyTmpPrefix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stale := filepath.Join(dir, tt.prefix+"12345")
			if err := os.WriteFile(stale, []byte("half a compaction"), 0o600); err != nil {
				t.Fatal(err)
			}
			openT(t, dir, fixedConfig(), nil)
			if _, err := os.Stat(stale); !os.IsNotExist(err) {
				t.Errorf("stale temporary journal still there: %v", err)
			}
		})
	}
}
