package inbox

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

func TestConcurrentAcceptDone(t *testing.T) {
	cfg := defaultConfig()
	cfg.maxRecords = 64 // compactions run while Done calls race
	b := openT(t, t.TempDir(), cfg, nil)

	const n = 300
	accepted := make(chan string)
	var wg sync.WaitGroup
	// The stream reader: one goroutine accepting.
	wg.Go(func() {
		defer close(accepted)
		for i := range n {
			id := fmt.Sprintf("m%03d", i)
			isNew, err := b.Accept(newInbound(id))
			if err != nil || !isNew {
				t.Errorf("Accept(%s) = %v, %v", id, isNew, err)
				return
			}
			accepted <- id
		}
	})
	// Turns finishing in parallel.
	for range 8 {
		wg.Go(func() {
			for id := range accepted {
				if !b.Seen(id) {
					t.Errorf("Seen(%s) = false after Accept returned", id)
				}
				if err := b.Done(id); err != nil {
					t.Errorf("Done(%s): %v", id, err)
				}
			}
		})
	}
	// A reader of the state.
	stop := make(chan struct{})
	var readerWG sync.WaitGroup
	readerWG.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, in := range b.Pending() {
				if in.MessageID == "" {
					t.Error("Pending returned a message without id")
				}
			}
		}
	})
	wg.Wait()
	close(stop)
	readerWG.Wait()

	check := func(b *Inbox) {
		t.Helper()
		if p := pendingIDs(b); len(p) != 0 {
			t.Errorf("Pending = %v, want none", p)
		}
		for i := range n {
			if id := fmt.Sprintf("m%03d", i); !b.Seen(id) {
				t.Errorf("Seen(%s) = false", id)
			}
		}
	}
	check(b)
	check(reopenT(t, b, nil))
}

func TestConcurrentDuplicateAccept(t *testing.T) {
	b := openT(t, t.TempDir(), defaultConfig(), nil)
	const ids, racers = 20, 6
	var wins [ids]atomic.Int32
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			for i := range ids {
				isNew, err := b.Accept(newInbound(fmt.Sprintf("d%02d", i)))
				if err != nil {
					t.Errorf("Accept: %v", err)
				}
				if isNew {
					wins[i].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for i := range wins {
		if got := wins[i].Load(); got != 1 {
			t.Errorf("id d%02d was new for %d callers, want exactly 1", i, got)
		}
	}
	if got := len(journalLines(t, b.dir)); got != ids {
		t.Errorf("journal has %d lines, want %d", got, ids)
	}
}
