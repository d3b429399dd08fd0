package outbox

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"picoclaw"
)

// ops returns the op of every record in dir's outbox file, in order.
func ops(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for line := range bytes.Lines(data) {
		r, err := decodeRecord(bytes.TrimSpace(line))
		if err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		got = append(got, fmt.Sprintf("%s %d", r.Op, r.ID))
	}
	return got
}

// An answer's last part is recorded by its done record: a one-part
// answer costs a put and a done; a two-part one adds a sent record for
// its first part only.
func TestLastPartRecordedByDone(t *testing.T) {
	dir := t.TempDir()
	o := openT(t, dir, &fakeService{})
	put(t, o, answer("alice", "one part"))
	o.Start()
	drain(t, o)
	put(t, o, answer("alice", "first\nsecond"))
	drain(t, o)
	if got, want := ops(t, dir), []string{"put 1", "done 1", "put 2", "sent 2", "done 2"}; !slices.Equal(got, want) {
		t.Errorf("records %q, want %q", got, want)
	}
}

// A deliverer that fails after its last part was accepted leaves a sent
// record behind before the retry waits, so a crash during that wait
// (the file copied as it is: what kill -9 leaves) does not send the part
// again after the restart.
func TestFailureAfterLastPartIsNotResentAfterCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir, crashed := t.TempDir(), t.TempDir()
		failed := make(chan struct{})
		var once sync.Once
		deliver := func(_ context.Context, out picoclaw.Outbound, from int, accepted func(int, bool)) error {
			for i := from; i < 2; i++ {
				accepted(i, i == 1)
			}
			once.Do(func() { close(failed) })
			return fmt.Errorf("answer lost on the way back: %w", picoclaw.ErrTemporary)
		}
		o, err := Open(dir, Options{Deliver: deliver})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = o.Close() })
		put(t, o, answer("alice", "first\nsecond"))
		o.Start()
		<-failed
		// Every goroutine is blocked and fake time stands still: the
		// outbox is waiting out its first retry backoff. Copy the file as
		// it is now (what kill -9 leaves).
		synctest.Wait()
		data, err := os.ReadFile(filepath.Join(dir, FileName))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, FileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		after := &fakeService{}
		o2 := openT(t, crashed, after)
		o2.Start()
		drain(t, o2)
		if got := after.got(); len(got) != 0 {
			t.Errorf("after the crash delivered %q again, want nothing: both parts were accepted", got)
		}
	})
}

// Many chats putting and delivering at once (sharing fdatasyncs) lose
// nothing and leave nothing pending on disk.
func TestConcurrentChatsShareSyncs(t *testing.T) {
	dir := t.TempDir()
	svc := &fakeService{}
	o := openT(t, dir, svc)
	o.Start()
	var wg sync.WaitGroup
	for c := range 20 {
		wg.Go(func() {
			for i := range 10 {
				if err := o.Put(context.Background(), answer(fmt.Sprintf("chat%d", c), fmt.Sprintf("c%d-a%d\nmore", c, i))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	drain(t, o)
	if n := len(svc.got()); n != 400 {
		t.Errorf("%d parts delivered, want 400", n)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err := Inspect(dir); err != nil || st.Pending != 0 {
		t.Errorf("Inspect after delivery = %+v, %v; want nothing pending", st, err)
	}
}
