package cron

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"picoclaw"
)

func TestAddListRemove(t *testing.T) {
	atT0(t, func(t *testing.T) {
		s, _ := newTestService(t)
		a := mustAdd(t, s, everyJob(600))
		b := mustAdd(t, s, Job{Name: "stand-up", Message: "Stand-up in 5", Channel: "dingtalk",
			Chat: picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidX=="}, Schedule: Schedule{Expr: "55 8 * * 1-5"}})

		if a.ID == "" || a.ID == b.ID {
			t.Fatalf("ids %q and %q: want distinct, non-empty", a.ID, b.ID)
		}
		if a.Name != "drink water" {
			t.Errorf("default name = %q, want the message's start", a.Name)
		}
		if !a.Enabled || !a.CreatedAt.Equal(t0) || !a.NextRun.Equal(t0.Add(10*time.Minute)) {
			t.Errorf("every job = %+v; want enabled, created now, next run in 10m", a)
		}
		if b.Schedule.Kind != KindCron {
			t.Errorf("kind = %q, want inferred %q", b.Schedule.Kind, KindCron)
		}
		if want := time.Date(2026, 3, 2, 8, 55, 0, 0, time.UTC); !b.NextRun.Equal(want) {
			t.Errorf("cron next run = %v, want %v", b.NextRun, want)
		}
		if got := ids(s.List()); !slices.Equal(got, []string{a.ID, b.ID}) {
			t.Fatalf("List = %v, want [%s %s]", got, a.ID, b.ID)
		}

		if err := s.Remove(a.ID); err != nil {
			t.Fatalf("Remove: %v", err)
		}
		if got := ids(s.List()); !slices.Equal(got, []string{b.ID}) {
			t.Errorf("after remove List = %v, want [%s]", got, b.ID)
		}
		if err := s.Remove(a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second Remove = %v, want ErrNotFound", err)
		}
	})
}

func TestEnableDisable(t *testing.T) {
	atT0(t, func(t *testing.T) {
		s, _ := newTestService(t)
		every := mustAdd(t, s, everyJob(60))
		at := mustAdd(t, s, Job{Message: "call mum", Channel: "dingtalk", Chat: alice,
			Schedule: Schedule{Kind: KindAt, At: t0.Add(time.Hour)}})

		off, err := s.Enable(every.ID, false)
		if err != nil {
			t.Fatalf("disable: %v", err)
		}
		if off.Enabled || !off.NextRun.IsZero() {
			t.Errorf("disabled job = %+v; want disabled with no next run", off)
		}
		time.Sleep(5 * time.Minute)
		now := time.Now()
		on, err := s.Enable(every.ID, true)
		if err != nil {
			t.Fatalf("enable: %v", err)
		}
		if !on.Enabled || !on.NextRun.Equal(now.Add(time.Minute)) {
			t.Errorf("enabled job = %+v; want next run a minute after re-enabling", on)
		}
		if got := s.List()[0]; !got.Enabled {
			t.Errorf("List shows job disabled after enable")
		}

		if _, err := s.Enable(at.ID, false); err != nil {
			t.Fatalf("disable at-job: %v", err)
		}
		time.Sleep(2*time.Hour - 5*time.Minute)
		if _, err := s.Enable(at.ID, true); err == nil || !strings.Contains(err.Error(), "schedule.at") {
			t.Errorf("enabling a past at-job: err = %v, want one naming schedule.at", err)
		}
		if _, err := s.Enable("nope", true); !errors.Is(err, ErrNotFound) {
			t.Errorf("Enable(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestAddValidation(t *testing.T) {
	base := everyJob(60)
	tests := []struct {
		name   string
		change func(*Job)
		want   string // in the error
	}{
		{"no message", func(j *Job) { j.Message = "  " }, "message"},
		{"no channel", func(j *Job) { j.Channel = "" }, "channel"},
		{"no chat id", func(j *Job) { j.Chat.ID = "" }, "chat.id"},
		{"no chat kind", func(j *Job) { j.Chat.Kind = 0 }, "chat.kind"},
		{"no schedule", func(j *Job) { j.Schedule = Schedule{} }, "schedule.kind"},
		{"unknown kind", func(j *Job) { j.Schedule.Kind = "hourly" }, "schedule.kind"},
		{"short interval", func(j *Job) { j.Schedule.EverySeconds = 1 }, "schedule.every_seconds"},
		{"bad cron", func(j *Job) { j.Schedule = Schedule{Kind: KindCron, Expr: "0 9 * *"} }, `schedule.expr: invalid cron expression "0 9 * *"`},
		{"cron field range", func(j *Job) { j.Schedule = Schedule{Kind: KindCron, Expr: "61 9 * * *"} }, "minute hour day-of-month month day-of-week"},
		{"cron tz prefix", func(j *Job) { j.Schedule = Schedule{Kind: KindCron, Expr: "TZ=Asia/Shanghai"} }, "schedule.tz"},
		{"never fires", func(j *Job) { j.Schedule = Schedule{Kind: KindCron, Expr: "0 0 30 2 *"} }, "never fires"},
		{"bad tz", func(j *Job) { j.Schedule = Schedule{Kind: KindCron, Expr: "0 9 * * *", TZ: "Mars/Olympus"} }, "schedule.tz"},
		{"past at", func(j *Job) { j.Schedule = Schedule{Kind: KindAt, At: t0.Add(-time.Minute)} }, "schedule.at"},
		{"at now", func(j *Job) { j.Schedule = Schedule{Kind: KindAt, At: t0} }, "in the past"},
		{"two fields", func(j *Job) { j.Schedule.Expr = "* * * * *" }, "schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			atT0(t, func(t *testing.T) {
				s, _ := newTestService(t)
				j := base
				tt.change(&j)
				_, err := s.Add(j)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Add = %v, want an error containing %q", err, tt.want)
				}
				if n := len(s.List()); n != 0 {
					t.Errorf("a refused job was kept: %d jobs", n)
				}
			})
		})
	}
}

func TestCronTimeZone(t *testing.T) {
	atT0(t, func(t *testing.T) {
		s, _ := newTestService(t) // 08:00 UTC = 16:00 in Shanghai
		j := mustAdd(t, s, Job{Message: "m", Channel: "dingtalk", Chat: alice,
			Schedule: Schedule{Kind: KindCron, Expr: "0 9 * * *", TZ: "Asia/Shanghai"}})
		want := time.Date(2026, 3, 3, 1, 0, 0, 0, time.UTC) // 09:00 next day in Shanghai
		if !j.NextRun.Equal(want) {
			t.Errorf("next run = %v, want %v", j.NextRun, want)
		}
	})
}

func TestPersistenceAcrossServices(t *testing.T) {
	atT0(t, func(t *testing.T) {
		s, path := newTestService(t)
		a := mustAdd(t, s, everyJob(600))
		group := picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cid:with:colons=="}
		b := mustAdd(t, s, Job{Message: "report", Channel: "dingtalk", Chat: group, Deliver: false,
			Schedule: Schedule{Kind: KindAt, At: t0.Add(time.Hour)}})
		if _, err := s.Enable(a.ID, false); err != nil {
			t.Fatal(err)
		}

		s2, err := NewService(path, nil, nil)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		got := s2.List()
		if len(got) != 2 {
			t.Fatalf("reopened service has %d jobs, want 2", len(got))
		}
		if got[0].ID != a.ID || got[0].Enabled {
			t.Errorf("job a = %+v; want it disabled as saved", got[0])
		}
		if got[1].ID != b.ID || got[1].Chat != group || got[1].Deliver || !got[1].NextRun.Equal(t0.Add(time.Hour)) ||
			!got[1].Schedule.At.Equal(b.Schedule.At) || got[1].Channel != "dingtalk" || !got[1].CreatedAt.Equal(t0) {
			t.Errorf("job b = %+v; want %+v", got[1], b)
		}
	})
}
