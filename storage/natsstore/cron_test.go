package natsstore

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/cron"
)

func TestCronJobsSaveByRevision(t *testing.T) {
	url := startSingle(t).URL()
	a, b := mustOpen(t, url).CronJobs(), mustOpen(t, url).CronJobs()
	ctx := testContext(t)
	job := cron.Job{ID: "j1", Message: "hi", Channel: "dingtalk", Enabled: true,
		Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}, Schedule: cron.Schedule{Kind: cron.KindEvery, EverySeconds: 60}}

	rev, err := a.Save(ctx, []cron.Job{job}, 0)
	if err != nil {
		t.Fatalf("first Save: %v", err)
	}
	if _, err := b.Save(ctx, nil, 0); !errors.Is(err, cron.ErrConflict) {
		t.Fatalf("Save over an unseen revision = %v, want cron.ErrConflict", err)
	}
	jobs, got, err := b.Load(ctx)
	if err != nil || got != rev || len(jobs) != 1 || jobs[0].ID != "j1" || jobs[0].Chat != job.Chat {
		t.Fatalf("Load = %+v, %d, %v; want [j1] at %d", jobs, got, err, rev)
	}
	if _, err := b.Save(ctx, nil, rev); err != nil {
		t.Fatalf("Save at the current revision: %v", err)
	}
	if _, err := a.Save(ctx, []cron.Job{job}, rev); !errors.Is(err, cron.ErrConflict) {
		t.Fatalf("stale Save = %v, want cron.ErrConflict", err)
	}
}

func TestCronClaimHasOneWinner(t *testing.T) {
	url := startSingle(t).URL()
	ctx := testContext(t)
	at := time.Unix(1_800_000_000, 0)
	var wins int
	for range 3 {
		won, err := mustOpen(t, url).CronJobs().Claim(ctx, "job.1*", at)
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if won {
			wins++
		}
	}
	if wins != 1 {
		t.Fatalf("%d of 3 gateways won the claim, want 1", wins)
	}
	if won, err := mustOpen(t, url).CronJobs().Claim(ctx, "job.1*", at.Add(time.Second)); err != nil || !won {
		t.Fatalf("Claim of the next slot = %v, %v; want won", won, err)
	}
}

// A claim whose create reached NATS but whose reply was lost is retried
// by the same gateway: that retry must win, or no gateway fires the slot.
// Two gateways started with the same node name still tell their claims
// apart.
func TestCronClaimRetriedAfterLostReplyIsStillOurs(t *testing.T) {
	url := startSingle(t).URL()
	ctx := testContext(t)
	at := time.Unix(1_800_000_100, 0)
	mine, other := mustOpen(t, url).CronJobs(), mustOpen(t, url).CronJobs()
	if won, err := mine.Claim(ctx, "j2", at); err != nil || !won {
		t.Fatalf("first Claim = %v, %v; want won", won, err)
	}
	// Asked again after it fired (its jobs reloaded with the slot still
	// due): not won twice.
	if won, err := mine.Claim(ctx, "j2", at); err != nil || won {
		t.Fatalf("the same gateway's second Claim of a slot it won = %v, %v; want lost", won, err)
	}
	// A create that landed but whose answer was lost (here: made, then
	// doubted as a timed-out create would be) is won by its retry.
	late := at.Add(time.Second)
	if won, err := mine.Claim(ctx, "j2", late); err != nil || !won {
		t.Fatal(won, err)
	}
	mine.doubt("fire."+encodeToken("j2")+"."+strconv.FormatInt(late.Unix(), 10), true)
	if won, err := mine.Claim(ctx, "j2", late); err != nil || !won {
		t.Fatalf("the retry of a create whose answer was lost = %v, %v; want won (its claim exists)", won, err)
	}
	if won, err := other.Claim(ctx, "j2", late); err != nil || won {
		t.Fatalf("another gateway's Claim = %v, %v; want lost", won, err)
	}
}

// TestCronEverySecondOnThreeGateways runs three gateways' cron Services on
// one NATS: a job added through one is seen by all, and each second's
// firing runs on exactly one of them.
func TestCronEverySecondOnThreeGateways(t *testing.T) {
	url := startSingle(t).URL()
	type firing struct {
		gw   int
		slot time.Time
	}
	fired := make(chan firing, 100)
	var svcs []*cron.Service
	var stopOnce sync.Once
	stopAll := func() {
		stopOnce.Do(func() {
			for _, s := range svcs {
				s.Stop()
			}
		})
	}
	t.Cleanup(stopAll)
	for gw := range 3 {
		st := mustOpen(t, url)
		opts := st.CronOptions()
		opts.MinEverySeconds = 1
		opts.Poll = 200 * time.Millisecond
		run := func(_ context.Context, j cron.Job) error {
			fired <- firing{gw, j.LastRun}
			return nil
		}
		s, err := cron.NewServiceWith(opts, run, nil)
		if err != nil {
			t.Fatalf("NewServiceWith: %v", err)
		}
		if err := s.Start(t.Context()); err != nil {
			t.Fatalf("Start %d: %v", gw, err)
		}
		svcs = append(svcs, s)
	}
	job, err := svcs[1].Add(cron.Job{Message: "tick", Channel: "dingtalk", Deliver: true,
		Chat: picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cid"}, Schedule: cron.Schedule{EverySeconds: 1}})
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	for _, s := range svcs {
		eventually(t, "the job shows on every gateway", func() bool {
			return slices.ContainsFunc(s.List(), func(j cron.Job) bool { return j.ID == job.ID })
		})
	}

	const want = 6
	var got []firing
	timeout := time.After(testWait)
	for len(got) < want {
		select {
		case f := <-fired:
			got = append(got, f)
		case <-timeout:
			t.Fatalf("%d firings after %v, want %d", len(got), testWait, want)
		}
	}
	stopAll()
	close(fired)
	for f := range fired { // those that ran before the stop
		got = append(got, f)
	}
	slices.SortFunc(got, func(a, b firing) int { return a.slot.Compare(b.slot) })
	for _, f := range got {
		t.Logf("slot %s fired on gateway %d", f.slot.Format(time.StampMilli), f.gw)
	}
	for i := 1; i < len(got); i++ {
		if d := got[i].slot.Sub(got[i-1].slot); d != time.Second {
			t.Errorf("firings %d and %d (%v on gw%d, %v on gw%d) are %v apart, want 1s: each slot once, none skipped",
				i-1, i, got[i-1].slot, got[i-1].gw, got[i].slot, got[i].gw, d)
		}
	}
}
