package cron

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"picoclaw"
)

// maxConcurrent bounds the jobs running at once; the rest wait their turn.
const maxConcurrent = 4

// Service holds the jobs of one jobs.json and, once started, runs them.
// Its methods are safe for concurrent use; they work without Start too,
// which is how the CLI edits the file.
type Service struct {
	store    backend
	path     string
	run      func(ctx context.Context, job Job) error
	log      *slog.Logger
	claim    ClaimFunc     // nil: every due firing runs here
	shared   bool          // store is a JobStore that others write too
	poll     time.Duration // longest sleep between looks for others' edits
	minEvery int64         // shortest "every" interval, in seconds

	mu      sync.Mutex
	jobs    []Job
	stamp   stamp           // the file version jobs reflects
	broken  stamp           // a file version that failed to load
	running map[string]bool // ids of jobs whose run has not finished
	started bool
	cancel  context.CancelFunc
	done    chan struct{} // closed when the scheduler loop has returned

	wake   chan struct{} // capacity 1: "the jobs changed, recompute"
	sem    chan struct{} // capacity maxConcurrent
	jobsWG sync.WaitGroup
}

// NewService loads the jobs file at path (a missing file holds no jobs; a
// corrupt one is an error). run delivers a due job; it may be nil for a
// Service that only edits jobs. Time is time.Now (tests fake it with
// testing/synctest).
func NewService(path string, run func(ctx context.Context, job Job) error, logger *slog.Logger) (*Service, error) {
	return NewServiceWith(Options{Path: path}, run, logger)
}

// NewServiceWith is NewService with the jobs in opts.Jobs (or the file at
// opts.Path) and, for several gateways, a claim on every firing.
func NewServiceWith(opts Options, run func(ctx context.Context, job Job) error, logger *slog.Logger) (*Service, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		path:     opts.Path,
		run:      run,
		log:      logger,
		claim:    opts.Claim,
		poll:     opts.Poll,
		minEvery: opts.MinEverySeconds,
		running:  make(map[string]bool),
		wake:     make(chan struct{}, 1),
		sem:      make(chan struct{}, maxConcurrent),
	}
	if s.poll <= 0 {
		s.poll = pollInterval
	}
	if s.minEvery <= 0 {
		s.minEvery = MinEverySeconds
	}
	switch {
	case opts.Jobs != nil:
		s.store, s.shared = &sharedBackend{jobs: opts.Jobs, minEvery: s.minEvery}, true
	case opts.Path != "":
		st := NewStore(opts.Path)
		st.minEvery = s.minEvery
		s.store = fileBackend{st}
	default:
		return nil, errors.New("cron: new service: neither a jobs file nor a job store given")
	}
	jobs, st, err := s.store.load()
	if err != nil {
		return nil, err
	}
	s.jobs, s.stamp = s.normalize(jobs), st
	return s, nil
}

// Path is the jobs file's path; empty with a shared JobStore.
func (s *Service) Path() string { return s.path }

func (s *Service) clock() time.Time { return time.Now().Round(0) }

// normalize fills in the next run of enabled jobs that lack one (a file
// edited by hand). An overdue "at" job keeps its time and so runs once.
func (s *Service) normalize(jobs []Job) []Job {
	now := s.clock()
	for i := range jobs {
		j := &jobs[i]
		if !j.Enabled {
			j.NextRun = time.Time{}
			continue
		}
		if j.NextRun.IsZero() {
			if j.Schedule.Kind == KindAt {
				j.NextRun = j.Schedule.At
			} else {
				j.NextRun = j.Schedule.next(now)
			}
		}
	}
	return jobs
}

// syncLocked reloads the file if another process changed it since it was
// last read or written here. On error the jobs in memory are kept.
func (s *Service) syncLocked() error {
	st, err := s.store.stat()
	if err != nil {
		return err
	}
	if st.same(s.stamp) {
		return nil
	}
	jobs, loaded, err := s.store.load()
	if err != nil {
		s.broken = st
		return err
	}
	s.jobs, s.stamp = s.normalize(jobs), loaded
	s.log.Info("cron: reloaded jobs changed by another process", "path", s.store.where(), "jobs", len(jobs))
	return nil
}

// saveLocked writes jobs and adopts them; on error nothing changes.
func (s *Service) saveLocked(jobs []Job) error {
	st, err := s.store.save(jobs, s.stamp)
	if err != nil {
		return err
	}
	s.jobs, s.stamp = jobs, st
	s.signal()
	return nil
}

// persistLocked writes the jobs in memory after a run, whose changes to
// run state (already made in memory) muts repeats by job id. If that fails
// the jobs in memory stay authoritative: the stamp is advanced so that the
// stale file is not reloaded (which would run the same jobs again). A file
// that another process left unreadable is not overwritten: it may hold
// edits its author wants to fix. A shared store is written by revision
// instead (commitLocked).
func (s *Service) persistLocked(muts map[string]func(*Job)) {
	if s.shared {
		s.commitLocked(muts)
		return
	}
	if cur, err := s.store.stat(); err == nil && cur.info != nil && cur.same(s.broken) {
		s.log.Error("cron: not saving run state: the jobs file does not load; fix it", "path", s.store.where())
		return
	}
	st, err := s.store.save(s.jobs, s.stamp)
	if err != nil {
		s.log.Error("cron: save jobs", "err", err)
		if st, err = s.store.stat(); err != nil {
			return
		}
	}
	s.stamp = st
}

// signal tells a running scheduler to recompute its next wake-up.
func (s *Service) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Add validates job, gives it an id (unless it has one), a name (unless
// it has one), enables it, computes its next run and saves it. A Schedule
// with no Kind takes the kind of the one field set.
func (s *Service) Add(job Job) (Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return retryConflict(func() (Job, error) { return s.addLocked(job) })
}

func (s *Service) addLocked(job Job) (Job, error) {
	if err := s.syncLocked(); err != nil {
		return Job{}, fmt.Errorf("cron: add: %w", err)
	}
	now := s.clock()
	if job.Schedule.Kind == "" {
		job.Schedule.Kind = inferKind(job.Schedule)
	}
	if job.ID == "" {
		job.ID = s.newIDLocked()
	} else if s.indexLocked(job.ID) >= 0 {
		return Job{}, fmt.Errorf("cron: add: id %q is taken", job.ID)
	}
	job.Message = strings.TrimSpace(job.Message)
	if strings.TrimSpace(job.Name) == "" {
		job.Name = picoclaw.Title(job.Message, 30)
	}
	job.Enabled, job.CreatedAt, job.LastRun, job.LastError = true, now, time.Time{}, ""
	if err := job.validate(s.minEvery); err != nil {
		return Job{}, fmt.Errorf("cron: add: %w", err)
	}
	next, err := firstRun(job.Schedule, now)
	if err != nil {
		return Job{}, fmt.Errorf("cron: add: %w", err)
	}
	job.NextRun = next
	jobs := append(slices.Clone(s.jobs), job)
	if err := s.saveLocked(jobs); err != nil {
		return Job{}, fmt.Errorf("cron: add: %w", err)
	}
	return job, nil
}

// firstRun is the next run of a schedule being added or enabled.
func firstRun(sc Schedule, now time.Time) (time.Time, error) {
	next := sc.next(now)
	if next.IsZero() {
		if sc.Kind == KindAt {
			return time.Time{}, fmt.Errorf("schedule.at: %s is in the past (now %s)", sc.At.Format(time.RFC3339), now.Format(time.RFC3339))
		}
		return time.Time{}, fmt.Errorf("schedule.expr: %q never fires", sc.Expr)
	}
	return next, nil
}

func inferKind(sc Schedule) string {
	switch {
	case !sc.At.IsZero():
		return KindAt
	case sc.EverySeconds != 0:
		return KindEvery
	case sc.Expr != "":
		return KindCron
	}
	return ""
}

// Remove deletes a job. A run in progress finishes but is not recorded.
func (s *Service) Remove(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := retryConflict(func() (struct{}, error) { return struct{}{}, s.removeLocked(id) })
	return err
}

func (s *Service) removeLocked(id string) error {
	if err := s.syncLocked(); err != nil {
		return fmt.Errorf("cron: remove %q: %w", id, err)
	}
	i := s.indexLocked(id)
	if i < 0 {
		return fmt.Errorf("cron: remove %q: %w", id, ErrNotFound)
	}
	if err := s.saveLocked(slices.Delete(slices.Clone(s.jobs), i, i+1)); err != nil {
		return fmt.Errorf("cron: remove %q: %w", id, err)
	}
	return nil
}

// Enable turns a job on (computing its next run) or off. A one-shot job
// whose time has passed cannot be enabled again.
func (s *Service) Enable(id string, on bool) (Job, error) {
	op := "enable"
	if !on {
		op = "disable"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return retryConflict(func() (Job, error) { return s.enableLocked(op, id, on) })
}

func (s *Service) enableLocked(op, id string, on bool) (Job, error) {
	if err := s.syncLocked(); err != nil {
		return Job{}, fmt.Errorf("cron: %s %q: %w", op, id, err)
	}
	i := s.indexLocked(id)
	if i < 0 {
		return Job{}, fmt.Errorf("cron: %s %q: %w", op, id, ErrNotFound)
	}
	jobs := slices.Clone(s.jobs)
	j := &jobs[i]
	if on {
		next, err := firstRun(j.Schedule, s.clock())
		if err != nil {
			return Job{}, fmt.Errorf("cron: %s %q: %w", op, id, err)
		}
		j.Enabled, j.NextRun = true, next
	} else {
		j.Enabled, j.NextRun = false, time.Time{}
	}
	if err := s.saveLocked(jobs); err != nil {
		return Job{}, fmt.Errorf("cron: %s %q: %w", op, id, err)
	}
	return *j, nil
}

// List returns a copy of the jobs, in the order they were added. If the
// file changed and no longer loads, the error is logged and the jobs last
// loaded are returned.
func (s *Service) List() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.syncLocked(); err != nil {
		s.log.Error("cron: reload jobs", "err", err)
	}
	return slices.Clone(s.jobs)
}

func (s *Service) indexLocked(id string) int {
	return slices.IndexFunc(s.jobs, func(j Job) bool { return j.ID == id })
}

// newIDLocked returns 8 hex digits not used by any job: short enough to
// type in `picoclaw cron remove`.
func (s *Service) newIDLocked() string {
	for {
		var b [4]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand panics instead)
		id := hex.EncodeToString(b[:])
		if s.indexLocked(id) < 0 {
			return id
		}
	}
}
