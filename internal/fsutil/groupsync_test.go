package fsutil

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// Appenders that arrive while a sync runs share the next one: eleven
// writes cost two syncs, and every waiter returns only after a sync that
// began after its write.
func TestGroupSyncShares(t *testing.T) {
	var g GroupSync
	var syncs atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	var synced atomic.Uint64 // the highest ticket a finished sync covered
	// flush covers the writes made before it began, like fdatasync.
	flush := func() error {
		covers := g.Last()
		if syncs.Add(1) == 1 {
			close(entered)
			<-release
		}
		synced.Store(max(synced.Load(), covers))
		return nil
	}
	first := g.Wrote()
	var wg sync.WaitGroup
	errs := make(chan error, 11)
	wg.Go(func() { errs <- g.Wait(first, flush) })
	<-entered // the first sync runs; the next ten writes arrive meanwhile
	for range 10 {
		ticket := g.Wrote()
		wg.Go(func() {
			err := g.Wait(ticket, flush)
			if err == nil && synced.Load() < ticket {
				err = errors.New("Wait returned before a sync covered its write")
			}
			errs <- err
		})
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := syncs.Load(); n != 2 {
		t.Errorf("%d syncs for 11 writes, want 2 (one running, one shared by the ten that arrived meanwhile)", n)
	}
}

// A failed sync fails every write it should have flushed, even when a
// later sync succeeds (the kernel may have dropped those pages); a write
// after it succeeds. Covered (a rewrite or a sync under the log's lock)
// makes a sync that fails meanwhile harmless.
func TestGroupSyncFailure(t *testing.T) {
	var g GroupSync
	boom := errors.New("fdatasync: input/output error")
	a, b := g.Wrote(), g.Wrote()
	if err := g.Wait(a, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Wait(a) = %v, want the sync's error", err)
	}
	c := g.Wrote()
	if err := g.Wait(c, func() error { return nil }); err != nil {
		t.Fatalf("Wait(c) after a good sync = %v", err)
	}
	if err := g.Wait(b, func() error { return nil }); !errors.Is(err, boom) {
		t.Errorf("Wait(b), written before the failed sync, = %v, want its error", err)
	}
	d := g.Wrote()
	if err := g.Wait(d, func() error { g.Covered(); return boom }); err != nil {
		t.Errorf("Wait(d) when Covered ran during a failing sync = %v, want nil", err)
	}
	if err := g.Wait(0, func() error { t.Error("sync called for ticket 0"); return nil }); err != nil {
		t.Errorf("Wait(0) = %v", err)
	}
}
