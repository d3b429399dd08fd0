package cron

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// memJobs is a JobStore and claim table in memory, shared by the Services
// of one test as NATS would be by gateways.
type memJobs struct {
	mu     sync.Mutex
	data   []byte // the jobs as JSON: every Load decodes a fresh copy
	rev    uint64
	claims map[string]bool
}

func (m *memJobs) Load(context.Context) ([]Job, uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var jobs []Job
	if m.data != nil {
		if err := json.Unmarshal(m.data, &jobs); err != nil {
			return nil, 0, err
		}
	}
	return jobs, m.rev, nil
}

func (m *memJobs) Revision(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rev, nil
}

func (m *memJobs) Save(_ context.Context, jobs []Job, prev uint64) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev != m.rev {
		return 0, fmt.Errorf("at %d, not %d: %w", m.rev, prev, ErrConflict)
	}
	data, err := json.Marshal(jobs)
	if err != nil {
		return 0, err
	}
	m.data, m.rev = data, m.rev+1
	return m.rev, nil
}

func (m *memJobs) Claim(_ context.Context, id string, at time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := fmt.Sprint(id, at.Unix())
	if m.claims[key] {
		return false, nil
	}
	m.claims[key] = true
	return true, nil
}

// firing is one run of a job, on gateway gw.
type firing struct {
	gw   int
	slot time.Time
}

func (f firing) String() string { return fmt.Sprintf("gw%d@%s", f.gw, f.slot.Format(time.TimeOnly)) }

func TestSharedJobsFireOncePerSlot(t *testing.T) {
	atT0(t, func(t *testing.T) {
		// Each gateway reads its own copy of the jobs, as a lagging
		// replica could serve them: only the claims keep a slot from
		// firing on several.
		seed := &memJobs{}
		s0, err := NewServiceWith(Options{Jobs: seed, MinEverySeconds: 1}, nil, nil)
		if err != nil {
			t.Fatalf("NewServiceWith: %v", err)
		}
		job := mustAdd(t, s0, everyJob(1))
		claims := &memJobs{claims: make(map[string]bool)}
		var mu sync.Mutex
		var fired []firing
		var svcs []*Service
		for gw := range 3 {
			run := func(_ context.Context, j Job) error {
				mu.Lock()
				fired = append(fired, firing{gw, j.LastRun})
				mu.Unlock()
				return nil
			}
			own := &memJobs{data: seed.data, rev: seed.rev}
			s, err := NewServiceWith(Options{Jobs: own, Claim: claims.Claim, MinEverySeconds: 1}, run, nil)
			if err != nil {
				t.Fatalf("NewServiceWith: %v", err)
			}
			if err := s.Start(t.Context()); err != nil {
				t.Fatalf("Start: %v", err)
			}
			svcs = append(svcs, s)
		}
		time.Sleep(10*time.Second + 500*time.Millisecond)
		for _, s := range svcs {
			s.Stop()
		}

		if len(fired) != 10 {
			t.Fatalf("%d firings in 10.5 s of a job every second on 3 gateways, want 10: %v", len(fired), fired)
		}
		for i, f := range fired {
			if want := t0.Add(time.Duration(i+1) * time.Second); !f.slot.Equal(want) {
				t.Errorf("firing %d was slot %v, want %v", i, f.slot, want)
			}
		}
		for gw, s := range svcs {
			if jobs := s.List(); len(jobs) != 1 || jobs[0].ID != job.ID || !jobs[0].NextRun.Equal(t0.Add(11*time.Second)) {
				t.Errorf("gateway %d: jobs %+v, want %s next at %v", gw, jobs, job.ID, t0.Add(11*time.Second))
			}
		}
	})
}

func TestSharedJobAddedOnOneIsSeenByAll(t *testing.T) {
	atT0(t, func(t *testing.T) {
		store := &memJobs{claims: make(map[string]bool)}
		var mu sync.Mutex
		var fired []firing
		var svcs []*Service
		for gw := range 3 {
			run := func(_ context.Context, j Job) error {
				mu.Lock()
				fired = append(fired, firing{gw, j.LastRun})
				mu.Unlock()
				return nil
			}
			s, err := NewServiceWith(Options{Jobs: store, Claim: store.Claim, Poll: 2 * time.Second, MinEverySeconds: 1}, run, nil)
			if err != nil {
				t.Fatalf("NewServiceWith: %v", err)
			}
			if err := s.Start(t.Context()); err != nil {
				t.Fatalf("Start: %v", err)
			}
			svcs = append(svcs, s)
		}
		job := mustAdd(t, svcs[2], everyJob(5))
		time.Sleep(2 * time.Second) // one poll
		for gw, s := range svcs {
			if got := ids(s.List()); !slices.Equal(got, []string{job.ID}) {
				t.Errorf("gateway %d lists %v, want [%s]", gw, got, job.ID)
			}
		}
		time.Sleep(9 * time.Second)
		for _, s := range svcs {
			s.Stop()
		}
		if len(fired) != 2 || !fired[0].slot.Equal(t0.Add(5*time.Second)) || !fired[1].slot.Equal(t0.Add(10*time.Second)) {
			t.Fatalf("fired %v, want slots at 5 s and 10 s once each", fired)
		}
		for gw, s := range svcs {
			if got := s.List()[0].LastRun; !got.Equal(t0.Add(10 * time.Second)) {
				t.Errorf("gateway %d: last run %v, want %v (saved by the winner)", gw, got, t0.Add(10*time.Second))
			}
		}
	})
}

func TestSharedJobsConcurrentEditsKeepBoth(t *testing.T) {
	atT0(t, func(t *testing.T) {
		store := &memJobs{claims: make(map[string]bool)}
		a, err := NewServiceWith(Options{Jobs: store}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewServiceWith(Options{Jobs: store}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		// a and b each loaded revision 0; b's add must not erase a's.
		ja := mustAdd(t, a, everyJob(60))
		jb := mustAdd(t, b, everyJob(120))
		for name, s := range map[string]*Service{"a": a, "b": b} {
			if got := ids(s.List()); !slices.Equal(got, []string{ja.ID, jb.ID}) {
				t.Errorf("%s lists %v, want [%s %s]", name, got, ja.ID, jb.ID)
			}
		}
		if err := a.Remove(jb.ID); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		if got := ids(b.List()); !slices.Equal(got, []string{ja.ID}) {
			t.Errorf("after remove b lists %v, want [%s]", got, ja.ID)
		}
	})
}

// claimsDownFor runs one gateway with a job every `every` seconds whose
// claims fail (NATS unreachable) for the first `down` of the run, then
// work; each run takes `runs`. It returns the slots fired by `until` and
// the job's next run then.
func claimsDownFor(t *testing.T, every int64, down, runs, until time.Duration) ([]time.Time, time.Time) {
	store := &memJobs{claims: make(map[string]bool)}
	var mu sync.Mutex
	var slots []time.Time
	claim := func(ctx context.Context, id string, at time.Time) (bool, error) {
		if time.Since(t0) < down {
			return false, fmt.Errorf("nats: no servers available")
		}
		return store.Claim(ctx, id, at)
	}
	run := func(_ context.Context, j Job) error {
		mu.Lock()
		slots = append(slots, j.LastRun)
		mu.Unlock()
		time.Sleep(runs)
		return nil
	}
	s, err := NewServiceWith(Options{Jobs: store, Claim: claim, MinEverySeconds: 1}, run, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, everyJob(every))
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(until)
	s.Stop()
	mu.Lock()
	defer mu.Unlock()
	return slots, s.List()[0].NextRun
}

func seconds(secs ...int) []time.Time {
	var out []time.Time
	for _, n := range secs {
		out = append(out, t0.Add(time.Duration(n)*time.Second))
	}
	return out
}

func TestSharedClaimFailureFiresMissedSlotsLate(t *testing.T) {
	for _, tc := range []struct {
		name       string
		every      int64
		down, runs time.Duration
		until      time.Duration
		want       []time.Time
		next       time.Time
	}{
		// A NATS leader election: every slot it held up fires late, once,
		// in order (none skipped, none twice).
		{"slots late by seconds all fire", 10, 25 * time.Second, 0, 29 * time.Second, seconds(10, 20), t0.Add(30 * time.Second)},
		{"a job every second, 3 s without claims", 1, 3500 * time.Millisecond, 0, 6200 * time.Millisecond, seconds(1, 2, 3, 4, 5, 6), t0.Add(7 * time.Second)},
		// Runs slower than the catch-up: a late slot waits for the run
		// before it instead of being skipped.
		{"late slots wait for the run before them", 1, 3500 * time.Millisecond, 300 * time.Millisecond, 6200 * time.Millisecond, seconds(1, 2, 3, 4, 5, 6), t0.Add(7 * time.Second)},
		// A long outage: the slot being retried fires once it can, the
		// slots more than a minute late are skipped, no burst follows.
		{"slots over a minute late are skipped", 10, 95 * time.Second, 0, 99 * time.Second, seconds(10), t0.Add(100 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			atT0(t, func(t *testing.T) {
				slots, next := claimsDownFor(t, tc.every, tc.down, tc.runs, tc.until)
				if !slices.EqualFunc(slots, tc.want, time.Time.Equal) {
					t.Fatalf("fired slots %v, want %v", slots, tc.want)
				}
				if !next.Equal(tc.next) {
					t.Errorf("next run %v, want %v", next, tc.next)
				}
			})
		})
	}
}
