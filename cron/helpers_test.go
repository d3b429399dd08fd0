package cron

import (
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
)

// t0 is the fake "now" of the tests that do not run the scheduler.
var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC) // a Monday

var alice = picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}

// atT0 runs f in a synctest bubble whose clock reads t0: the service
// reads time.Now, which the bubble fakes; time.Sleep moves it on.
func atT0(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(t0))
		f(t)
	})
}

// newTestService opens a Service on a fresh jobs file.
func newTestService(t *testing.T) (*Service, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cron", "jobs.json")
	s, err := NewService(path, nil, nil)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	return s, path
}

func everyJob(secs int64) Job {
	return Job{Message: "drink water", Channel: "dingtalk", Chat: alice, Deliver: true,
		Schedule: Schedule{Kind: KindEvery, EverySeconds: secs}}
}

func mustAdd(t *testing.T, s *Service, j Job) Job {
	t.Helper()
	got, err := s.Add(j)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	return got
}

func ids(jobs []Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}
