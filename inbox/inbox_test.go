package inbox

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

func TestAcceptReopenPending(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inbox")
	b := openT(t, dir, defaultConfig(), nil)
	ids := []string{"m3", "m1", "m2"} // acceptance order, not sorted order
	for _, id := range ids {
		mustAccept(t, b, id)
	}
	if got := pendingIDs(b); !slices.Equal(got, ids) {
		t.Fatalf("Pending before reopen = %v, want %v", got, ids)
	}

	b = reopenT(t, b, nil)
	got := b.Pending()
	if len(got) != len(ids) {
		t.Fatalf("Pending after reopen has %d messages, want %d", len(got), len(ids))
	}
	for i, id := range ids {
		if want := newInbound(id); !reflect.DeepEqual(got[i], want) {
			t.Errorf("Pending()[%d] = %+v, want %+v", i, got[i], want)
		}
		if !b.Seen(id) {
			t.Errorf("Seen(%s) = false after reopen", id)
		}
	}
}

func TestPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "inbox")
	b := openT(t, dir, defaultConfig(), nil)
	mustAccept(t, b, "m1")
	for _, c := range []struct {
		path string
		want os.FileMode
	}{
		{dir, 0o700},
		{filepath.Join(dir, journalName), 0o600},
	} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("%s mode = %v, want %v", c.path, got, c.want)
		}
	}
}

func TestDoneReopen(t *testing.T) {
	b := openT(t, t.TempDir(), defaultConfig(), nil)
	mustAccept(t, b, "a")
	mustAccept(t, b, "b")
	mustDone(t, b, "a")

	check := func(t *testing.T, b *Inbox) {
		t.Helper()
		if got := pendingIDs(b); !slices.Equal(got, []string{"b"}) {
			t.Errorf("Pending = %v, want [b]", got)
		}
		for id, want := range map[string]bool{"a": true, "b": true, "c": false} {
			if got := b.Seen(id); got != want {
				t.Errorf("Seen(%s) = %v, want %v", id, got, want)
			}
		}
	}
	t.Run("before reopen", func(t *testing.T) { check(t, b) })
	b = reopenT(t, b, nil)
	t.Run("after reopen", func(t *testing.T) { check(t, b) })
}

func TestDuplicateAccept(t *testing.T) {
	tests := []struct {
		name   string
		done   bool
		reopen bool
	}{
		{"pending", false, false},
		{"done", true, false},
		{"pending after reopen", false, true},
		{"done after reopen", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := openT(t, t.TempDir(), defaultConfig(), nil)
			mustAccept(t, b, "dup")
			if tt.done {
				mustDone(t, b, "dup")
			}
			if tt.reopen {
				b = reopenT(t, b, nil)
			}
			before := journalLines(t, b.dir)
			isNew, err := b.Accept(newInbound("dup"))
			if err != nil {
				t.Fatalf("second Accept: %v", err)
			}
			if isNew {
				t.Error("second Accept returned isNew = true")
			}
			if after := journalLines(t, b.dir); !slices.Equal(before, after) {
				t.Errorf("second Accept wrote to the journal: %d lines, then %d", len(before), len(after))
			}
			wantPending := 1
			if tt.done {
				wantPending = 0
			}
			if got := len(b.Pending()); got != wantPending {
				t.Errorf("len(Pending) = %d, want %d", got, wantPending)
			}
		})
	}
}

func TestDoneIdempotentAndUnknown(t *testing.T) {
	b := openT(t, t.TempDir(), defaultConfig(), nil)
	mustAccept(t, b, "a")
	mustDone(t, b, "a")
	n := len(journalLines(t, b.dir))
	mustDone(t, b, "a")
	if got := len(journalLines(t, b.dir)); got != n {
		t.Errorf("second Done wrote a record: %d lines, want %d", got, n)
	}

	// A done for an id never accepted still marks it seen, so a delivery
	// arriving late is not answered again.
	mustDone(t, b, "never-accepted")
	b = reopenT(t, b, nil)
	if !b.Seen("never-accepted") {
		t.Error("Seen(never-accepted) = false after Done and reopen")
	}
	if isNew, err := b.Accept(newInbound("never-accepted")); err != nil || isNew {
		t.Errorf("Accept after Done = %v, %v; want false, nil", isNew, err)
	}
}

func TestPendingIsACopy(t *testing.T) {
	b := openT(t, t.TempDir(), defaultConfig(), nil)
	mustAccept(t, b, "a")
	p := b.Pending()
	p[0].Text = "changed"
	p[0].Attachments[0].Name = "changed"
	if got := b.Pending()[0]; !reflect.DeepEqual(got, newInbound("a")) {
		t.Errorf("Pending changed through a returned value: %+v", got)
	}
}

func TestInvalidCalls(t *testing.T) {
	b := openT(t, t.TempDir(), defaultConfig(), nil)
	if _, err := b.Accept(newInbound("")); err == nil {
		t.Error("Accept with empty MessageID succeeded")
	}
	if err := b.Done(""); err == nil {
		t.Error("Done with empty id succeeded")
	}
	if _, err := Open("", slog.New(slog.DiscardHandler)); err == nil {
		t.Error("Open(\"\") succeeded")
	}
}

func TestClosed(t *testing.T) {
	b := openT(t, t.TempDir(), defaultConfig(), nil)
	mustAccept(t, b, "a")
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.Accept(newInbound("b")); !errors.Is(err, ErrClosed) {
		t.Errorf("Accept after Close: %v, want ErrClosed", err)
	}
	if err := b.Done("a"); !errors.Is(err, ErrClosed) {
		t.Errorf("Done after Close: %v, want ErrClosed", err)
	}
	// Reads still answer from memory.
	if !b.Seen("a") || len(b.Pending()) != 1 {
		t.Error("Seen/Pending lost state after Close")
	}
}

func TestOpenDefaultsMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "deep", "inbox")
	b, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	mustAccept(t, b, "a")
	if got := pendingIDs(b); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Pending = %v, want [a]", got)
	}
}
