package cron

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrConflict is returned (wrapped) by a JobStore's Save when the jobs
// changed since the revision it was given. The Service then reloads and
// makes its change again.
var ErrConflict = errors.New("jobs changed by another writer")

// ClaimFunc claims the firing of job jobID scheduled at at. Of all the
// gateways that call it for the same job and time, exactly one gets true;
// an error means nobody could tell, and the firing is tried again.
type ClaimFunc func(ctx context.Context, jobID string, at time.Time) (bool, error)

// JobStore keeps the jobs where several gateways share them, by revision.
type JobStore interface {
	// Load returns the jobs and their revision (0 while none were saved).
	Load(ctx context.Context) ([]Job, uint64, error)
	// Revision returns the current revision. The scheduler asks at every
	// wake-up, so it must be cheap.
	Revision(ctx context.Context) (uint64, error)
	// Save stores jobs if the store is still at revision prev and returns
	// the new revision; otherwise it fails with ErrConflict.
	Save(ctx context.Context, jobs []Job, prev uint64) (uint64, error)
}

// Options configures NewServiceWith.
type Options struct {
	// Path is the jobs file, used when Jobs is nil.
	Path string
	// Jobs, when set, is where the jobs live instead of a file: a store
	// that other gateways' Services share.
	Jobs JobStore
	// Claim, when set, is asked before every firing; the job runs here
	// only if it returns true. Every gateway evaluates the schedules, so
	// "every" jobs then step from their previous slot (not from the
	// moment a gateway woke up) and all gateways name the same slot.
	Claim ClaimFunc
	// Poll is the longest the scheduler sleeps before looking for jobs
	// changed elsewhere (default 30 s); a shared store wants a few seconds.
	Poll time.Duration
	// MinEverySeconds is the shortest "every" interval accepted (default
	// MinEverySeconds). Tests lower it to fire every second.
	MinEverySeconds int64
}

const (
	// claimRetry is how soon a firing whose claim failed is tried again.
	claimRetry = time.Second
	// claimTimeout bounds one claim.
	claimTimeout = 5 * time.Second
	// catchUp is how late the slots after a late one may still fire:
	// slots missed while no claim could be made (a NATS leader election)
	// fire late, once each and in order, while at most this late; past
	// it the schedule jumps to the first slot after now, so a long outage
	// ends with one late firing (the slot being retried), not a burst. A
	// job that runs longer than its interval runs back to back this way,
	// never more than catchUp behind, then skips.
	catchUp = time.Minute
	// sharedTimeout bounds one call to a JobStore (the Service's editing
	// methods take no context).
	sharedTimeout = 10 * time.Second
	// conflictRetries bounds how often a change is made again after
	// losing a race with another writer.
	conflictRetries = 8
)

// backend is where a Service's jobs live: the jobs file or a JobStore.
type backend interface {
	stat() (stamp, error)
	load() ([]Job, stamp, error)
	// save writes jobs; a shared store only if it is still at prev.
	save(jobs []Job, prev stamp) (stamp, error)
	where() string // for logs
}

// fileBackend is the jobs file: saves replace it whatever it holds.
type fileBackend struct{ *Store }

func (b fileBackend) save(jobs []Job, _ stamp) (stamp, error) { return b.Store.save(jobs) }
func (b fileBackend) where() string                           { return b.path }

// sharedBackend is a JobStore, with the same validation as the file's.
type sharedBackend struct {
	jobs     JobStore
	minEvery int64
}

func (b *sharedBackend) stat() (stamp, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	rev, err := b.jobs.Revision(ctx)
	if err != nil {
		return stamp{}, fmt.Errorf("cron: shared jobs: revision: %w", err)
	}
	return stamp{rev: rev}, nil
}

func (b *sharedBackend) load() ([]Job, stamp, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	jobs, rev, err := b.jobs.Load(ctx)
	if err != nil {
		return nil, stamp{}, fmt.Errorf("cron: shared jobs: load: %w", err)
	}
	if err := validateJobs(jobs, b.minEvery); err != nil {
		return nil, stamp{}, fmt.Errorf("cron: shared jobs at revision %d: %w", rev, err)
	}
	return jobs, stamp{rev: rev}, nil
}

func (b *sharedBackend) save(jobs []Job, prev stamp) (stamp, error) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	rev, err := b.jobs.Save(ctx, jobs, prev.rev)
	if err != nil {
		return stamp{}, fmt.Errorf("cron: shared jobs: save: %w", err)
	}
	return stamp{rev: rev}, nil
}

func (b *sharedBackend) where() string { return "shared job store" }

// retryConflict calls f again while it fails with ErrConflict: f starts
// by reloading, so it makes its change on the other writer's jobs.
func retryConflict[T any](f func() (T, error)) (T, error) {
	for i := 0; ; i++ {
		v, err := f()
		if !errors.Is(err, ErrConflict) || i == conflictRetries {
			return v, err
		}
	}
}

// commitLocked saves the jobs in memory to the shared store. When another
// gateway saved first, it reloads and makes the run-state changes muts
// again on the fresh jobs; a job removed meanwhile stays removed.
func (s *Service) commitLocked(muts map[string]func(*Job)) {
	for range conflictRetries {
		st, err := s.store.save(s.jobs, s.stamp)
		if err == nil {
			s.stamp = st
			return
		}
		if !errors.Is(err, ErrConflict) {
			s.log.Error("cron: save run state", "err", err)
			return
		}
		jobs, loaded, err := s.store.load()
		if err != nil {
			s.log.Error("cron: save run state: reload", "err", err)
			return
		}
		s.jobs, s.stamp = s.normalize(jobs), loaded
		for i := range s.jobs {
			if m := muts[s.jobs[i].ID]; m != nil {
				m(&s.jobs[i])
			}
		}
	}
	s.log.Error("cron: save run state: the jobs kept changing under it; giving up until the next run", "retries", conflictRetries)
}

// claimLocked asks whether this gateway fires j's run due at j.NextRun.
func (s *Service) claimLocked(ctx context.Context, j Job) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, claimTimeout)
	defer cancel()
	return s.claim(ctx, j.ID, j.NextRun)
}

// nextRun is j's run after its current one. With claims, an "every" job
// steps from its previous slot, so that every gateway computes the same
// slots, one at a time while they are at most catchUp late (each missed
// slot still fires once); past that it jumps to the first slot after now.
func (s *Service) nextRun(j Job, now time.Time) time.Time {
	if s.claim != nil && j.Schedule.Kind == KindEvery && !j.NextRun.IsZero() {
		every := time.Duration(j.Schedule.EverySeconds) * time.Second
		next := j.NextRun.Add(every)
		if now.Sub(next) > catchUp {
			next = j.NextRun.Add((now.Sub(j.NextRun)/every + 1) * every)
		}
		return next
	}
	return j.Schedule.next(now)
}

// catchingUp reports whether j's due slot is a shared "every" slot late
// by at most catchUp, which fires late rather than being skipped.
func (s *Service) catchingUp(j Job, now time.Time) bool {
	return s.claim != nil && j.Schedule.Kind == KindEvery && !j.NextRun.IsZero() && now.Sub(j.NextRun) <= catchUp
}

// skipLocked moves j past a firing another gateway claimed.
func (s *Service) skipLocked(j *Job, now time.Time) {
	if j.Schedule.Kind == KindAt {
		j.Enabled, j.NextRun = false, time.Time{}
		return
	}
	j.NextRun = s.nextRun(*j, now)
}

func setNextRun(t time.Time) func(*Job) { return func(j *Job) { j.NextRun = t } }

// setRunState repeats a firing's changes to j's run state.
func setRunState(j Job) func(*Job) {
	return func(x *Job) { x.LastRun, x.NextRun, x.Enabled = j.LastRun, j.NextRun, j.Enabled }
}
