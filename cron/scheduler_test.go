package cron

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is a run function that records the jobs it was given.
type recorder struct {
	mu   sync.Mutex
	runs []Job
	at   []time.Time
	fail func(n int) error // error for the n-th run (from 0); nil: none
}

func (r *recorder) run(_ context.Context, j Job) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.runs)
	r.runs = append(r.runs, j)
	r.at = append(r.at, time.Now())
	if r.fail != nil {
		return r.fail(n)
	}
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.runs)
}

// startService opens and starts a Service in the current synctest bubble.
func startService(t *testing.T, run func(context.Context, Job) error) (*Service, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cron", "jobs.json")
	s, err := NewService(path, run, nil)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return s, path
}

// advance moves the bubble's clock by d and lets everything settle.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func TestSchedulerRunsEveryJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s, _ := startService(t, rec.run)
		defer s.Stop()
		start := time.Now()
		j := mustAdd(t, s, everyJob(60))

		advance(59 * time.Second)
		if n := rec.count(); n != 0 {
			t.Fatalf("%d runs after 59s of a 60s interval, want 0", n)
		}
		advance(time.Second)
		if n := rec.count(); n != 1 {
			t.Fatalf("%d runs after 60s, want 1", n)
		}
		advance(60 * time.Second)
		if n := rec.count(); n != 2 {
			t.Fatalf("%d runs after 120s, want 2", n)
		}
		if rec.runs[0].ID != j.ID || rec.runs[0].Message != "drink water" {
			t.Errorf("run got %+v, want job %s", rec.runs[0], j.ID)
		}
		if !rec.at[1].Equal(start.Add(120 * time.Second)) {
			t.Errorf("second run at +%v, want +2m", rec.at[1].Sub(start))
		}
		got := s.List()[0]
		if !got.LastRun.Equal(start.Add(120*time.Second)) || !got.NextRun.Equal(start.Add(180*time.Second)) || !got.Enabled {
			t.Errorf("after two runs job = %+v; want last run +2m, next run +3m", got)
		}
	})
}

func TestSchedulerRunsAtJobOnceAndDisablesIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s, path := startService(t, rec.run)
		defer s.Stop()
		start := time.Now()
		j := mustAdd(t, s, Job{Message: "call mum", Channel: "dingtalk", Chat: alice,
			Schedule: Schedule{Kind: KindAt, At: start.Add(90 * time.Minute)}})

		advance(90*time.Minute - time.Second)
		if n := rec.count(); n != 0 {
			t.Fatalf("%d runs before the at time, want 0", n)
		}
		advance(time.Second)
		if n := rec.count(); n != 1 {
			t.Fatalf("%d runs at the at time, want 1", n)
		}
		advance(24 * time.Hour)
		if n := rec.count(); n != 1 {
			t.Fatalf("%d runs a day later, want still 1", n)
		}
		// Disabled on disk too, so a restart does not run it again.
		reopened, err := NewService(path, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := reopened.List()
		if len(got) != 1 || got[0].ID != j.ID || got[0].Enabled || !got[0].NextRun.IsZero() ||
			!got[0].LastRun.Equal(start.Add(90*time.Minute)) || got[0].LastError != "" {
			t.Errorf("after running, job on disk = %+v; want disabled, last run at its time", got)
		}
	})
}

func TestSchedulerRecordsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{fail: func(n int) error {
			if n == 0 {
				return errors.New("dingtalk: send: 503")
			}
			return nil
		}}
		s, path := startService(t, rec.run)
		defer s.Stop()
		mustAdd(t, s, everyJob(60))

		advance(60 * time.Second)
		reopened, err := NewService(path, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := reopened.List()[0].LastError; got != "dingtalk: send: 503" {
			t.Fatalf("last_error on disk = %q, want the run's error", got)
		}
		advance(60 * time.Second)
		if got := s.List()[0]; got.LastError != "" || !got.Enabled {
			t.Errorf("after a good run job = %+v; want last_error cleared, still enabled", got)
		}
	})
}

func TestSchedulerSurvivesPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := startService(t, func(context.Context, Job) error { panic("boom") })
		defer s.Stop()
		mustAdd(t, s, everyJob(60))
		advance(60 * time.Second)
		if got := s.List()[0].LastError; got != "panic: boom" {
			t.Errorf("last_error = %q, want the panic", got)
		}
	})
}

func TestSchedulerReloadsExternalChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s, path := startService(t, rec.run)
		defer s.Stop()
		// The scheduler is not asked again (List would reload by itself):
		// only its own wake-ups may notice the file.
		advance(5 * time.Second)
		cli, err := NewService(path, nil, nil) // as `picoclaw cron add` does
		if err != nil {
			t.Fatal(err)
		}
		j := mustAdd(t, cli, everyJob(10)) // due at +15s

		advance(24 * time.Second) // +29s
		if n := rec.count(); n != 0 {
			t.Fatalf("%d runs before the 30s poll, want 0", n)
		}
		advance(time.Second) // +30s: the poll reloads and runs the overdue job
		if n := rec.count(); n != 1 || rec.runs[0].ID != j.ID {
			t.Fatalf("%d runs after the 30s poll, want the CLI's job once", rec.count())
		}

		if _, err := cli.Enable(j.ID, false); err != nil {
			t.Fatal(err)
		}
		advance(2 * time.Minute) // the wake-up for the run due at +40s reloads first
		if n := rec.count(); n != 1 {
			t.Fatalf("%d runs after an external disable, want still 1", n)
		}
	})
}

func TestSchedulerKeepsJobsWhenFileTurnsCorrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s, path := startService(t, rec.run)
		defer s.Stop()
		mustAdd(t, s, everyJob(60))
		advance(time.Second)
		garbage := []byte("{half an edit")
		if err := os.WriteFile(path, garbage, 0o600); err != nil {
			t.Fatal(err)
		}
		advance(2 * time.Minute)
		if n := rec.count(); n != 2 {
			t.Errorf("%d runs, want 2: the jobs loaded before the bad edit keep running", n)
		}
		if data, _ := os.ReadFile(path); string(data) != string(garbage) {
			t.Errorf("the unreadable file was overwritten with %q", data)
		}
		if _, err := s.Add(everyJob(60)); err == nil {
			t.Errorf("Add succeeded over an unreadable file")
		}
	})
}

func TestSchedulerBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var running, peak atomic.Int32
		release := make(chan struct{})
		s, _ := startService(t, func(ctx context.Context, _ Job) error {
			n := running.Add(1)
			defer running.Add(-1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		defer s.Stop()
		for range maxConcurrent + 2 {
			mustAdd(t, s, everyJob(600))
		}
		advance(600 * time.Second)
		if got := running.Load(); got != maxConcurrent {
			t.Fatalf("%d jobs running at once, want the bound %d", got, maxConcurrent)
		}
		close(release)
		synctest.Wait()
		if got := peak.Load(); got != maxConcurrent {
			t.Errorf("peak concurrency %d, want %d", got, maxConcurrent)
		}
		if got := running.Load(); got != 0 {
			t.Errorf("%d still running after release", got)
		}
	})
}

func TestStopCancelsRunningJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		started := make(chan struct{})
		s, _ := startService(t, func(ctx context.Context, _ Job) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		mustAdd(t, s, everyJob(60))
		advance(60 * time.Second)
		<-started
		s.Stop() // returns only once the job has seen the cancellation
		if got := s.List()[0].LastError; got != context.Canceled.Error() {
			t.Errorf("last_error = %q, want the cancellation", got)
		}
		if err := s.Start(context.Background()); err == nil {
			t.Errorf("a second Start succeeded")
		}
	})
}

func TestSchedulerWakesForNewJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s, _ := startService(t, rec.run)
		defer s.Stop()
		advance(time.Second) // the idle scheduler now sleeps a full poll interval
		start := time.Now()
		mustAdd(t, s, Job{Message: "soon", Channel: "dingtalk", Chat: alice,
			Schedule: Schedule{Kind: KindAt, At: start.Add(15 * time.Second)}})
		advance(15 * time.Second)
		if n := rec.count(); n != 1 {
			t.Fatalf("%d runs at the new job's time, want 1: Add must wake the scheduler", n)
		}
	})
}
