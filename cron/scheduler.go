package cron

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// pollInterval is the longest the scheduler sleeps, so that another
// process's edit of the jobs file is noticed even with no job due.
const pollInterval = 30 * time.Second

// Start runs the scheduler in one goroutine until ctx ends or Stop is
// called. It sleeps until the next job is due (at most pollInterval),
// waking early when jobs change through this Service.
func (s *Service) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run == nil {
		return errors.New("cron: start: no run function")
	}
	if s.started {
		return errors.New("cron: start: already started")
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
	return nil
}

// Stop ends the scheduler and waits for running jobs, whose context it
// cancels. It is safe to call more than once, or without Start.
func (s *Service) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	// Only the loop adds to jobsWG, and it has returned.
	s.jobsWG.Wait()
}

func (s *Service) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(s.tick(ctx))
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
	}
}

// tick reloads the file if it changed, starts the jobs that are due and
// returns how long to sleep.
func (s *Service) tick(ctx context.Context) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.syncLocked(); err != nil {
		// Keep running the jobs already known rather than none.
		s.log.Error("cron: reload jobs", "err", err)
	}
	now := s.clock()
	var due []Job
	changed, retry := false, false
	muts := make(map[string]func(*Job))
	for i := range s.jobs {
		j := &s.jobs[i]
		if !j.Enabled || j.NextRun.IsZero() || j.NextRun.After(now) {
			continue
		}
		if s.running[j.ID] {
			if s.catchingUp(*j, now) {
				// A late shared slot waits for the run before it and
				// fires when that ends (finish wakes the loop).
				retry = true
				continue
			}
			j.NextRun = s.nextRun(*j, now)
			muts[j.ID] = setNextRun(j.NextRun)
			s.log.Warn("cron: job still running, skipping this run", "id", j.ID, "name", j.Name)
			changed = true
			continue
		}
		if s.claim != nil {
			won, err := s.claimLocked(ctx, *j)
			if err != nil {
				// Nobody could claim it: try this firing again soon.
				s.log.Error("cron: claim firing; retrying", "id", j.ID, "at", j.NextRun, "err", err)
				retry = true
				continue
			}
			if !won {
				// Another gateway fires this one; follow the schedule. The
				// winner saves the run state.
				s.skipLocked(j, now)
				continue
			}
		}
		j.LastRun = now
		if s.claim != nil {
			// The slot claimed, the same on every gateway.
			j.LastRun = j.NextRun
		}
		if j.Schedule.Kind == KindAt {
			// Disabled before it runs: at most once, even across a crash.
			j.Enabled, j.NextRun = false, time.Time{}
		} else {
			j.NextRun = s.nextRun(*j, now)
		}
		muts[j.ID] = setRunState(*j)
		s.running[j.ID] = true
		due = append(due, *j)
	}
	if changed || len(due) > 0 {
		s.persistLocked(muts)
	}
	for _, j := range due {
		s.jobsWG.Add(1)
		go s.execute(ctx, j)
	}
	wait := s.poll
	for _, j := range s.jobs {
		if j.Enabled && !j.NextRun.IsZero() {
			d := j.NextRun.Sub(now)
			if d <= 0 && retry {
				d = claimRetry // a firing whose claim failed, or waiting for a run
			}
			wait = min(wait, d)
		}
	}
	return max(wait, 0)
}

// execute runs one job, at most maxConcurrent at a time, and records the
// outcome.
func (s *Service) execute(ctx context.Context, job Job) {
	defer s.jobsWG.Done()
	var err error
	select {
	case s.sem <- struct{}{}:
		s.log.Info("cron: running job", "id", job.ID, "name", job.Name, "chat", job.SessionKey(), "deliver", job.Deliver)
		err = s.safeRun(ctx, job)
		<-s.sem
	case <-ctx.Done():
		err = fmt.Errorf("not run: %w", ctx.Err())
	}
	s.finish(job, err)
}

// safeRun turns a panic in run into an error, so that one bad job cannot
// take the gateway down.
func (s *Service) safeRun(ctx context.Context, job Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return s.run(ctx, job)
}

func (s *Service) finish(job Job, err error) {
	if err != nil {
		s.log.Error("cron: job failed", "id", job.ID, "name", job.Name, "err", err)
	} else {
		s.log.Info("cron: job done", "id", job.ID, "name", job.Name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, job.ID)
	s.signal() // a late slot of this job may be waiting for this run
	if err := s.syncLocked(); err != nil {
		s.log.Error("cron: reload jobs", "err", err)
	}
	i := s.indexLocked(job.ID)
	if i < 0 {
		return // removed while running
	}
	j := &s.jobs[i]
	j.LastError = ""
	if err != nil {
		j.LastError = err.Error()
	}
	lastError := j.LastError
	s.persistLocked(map[string]func(*Job){job.ID: func(j *Job) { j.LastError = lastError }})
}
