package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
)

func TestDeliversInOrderPerChat(t *testing.T) {
	svc := &fakeService{}
	o := openT(t, t.TempDir(), svc)
	put(t, o, answer("alice", "a1"))
	put(t, o, answer("bob", "b1"))
	put(t, o, answer("alice", "a2\nsecond part"))
	o.Start()
	drain(t, o)
	got := svc.got()
	var alice []string
	for _, d := range got {
		if strings.HasPrefix(d, "a") {
			alice = append(alice, d)
		}
	}
	if want := []string{"a1#0", "a2\nsecond part#0", "a2\nsecond part#1"}; !slices.Equal(alice, want) {
		t.Errorf("alice's parts = %q, want %q", alice, want)
	}
	if len(got) != 4 {
		t.Errorf("delivered %q, want 4 parts", got)
	}
	if st := o.Stats(); st.Pending != 0 || !st.Oldest.IsZero() {
		t.Errorf("stats after delivery = %+v", st)
	}
}

// An answer put before a crash (no Start, no Close) is delivered after
// the restart, once.
func TestPutSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	first := &fakeService{}
	o := openT(t, dir, first)
	put(t, o, answer("alice", "kept"))
	// No Close: the process dies here. A second Open reads the same file.
	svc := &fakeService{}
	o2 := openT(t, dir, svc)
	if st := o2.Stats(); st.Pending != 1 {
		t.Fatalf("pending after restart = %d, want 1", st.Pending)
	}
	o2.Start()
	drain(t, o2)
	if got := svc.got(); !slices.Equal(got, []string{"kept#0"}) {
		t.Errorf("delivered %q after restart", got)
	}
	// And a third start delivers nothing again.
	again := &fakeService{}
	o3 := openT(t, dir, again)
	o3.Start()
	drain(t, o3)
	if n := len(again.got()); n != 0 || len(first.got()) != 0 {
		t.Errorf("delivered again after a clean delivery: %q", again.got())
	}
}

// A part DingTalk accepted is never sent again: not on a retry, not after
// a restart.
func TestAcceptedPartsAreNotResent(t *testing.T) {
	// In a bubble the retry's backoff passes in fake time.
	t.Run("retry", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			failed := false
			svc := &fakeService{fail: func(_ picoclaw.Outbound, part int) error {
				if part == 1 && !failed {
					failed = true
					return fmt.Errorf("HTTP 503: %w", picoclaw.ErrTemporary)
				}
				return nil
			}}
			o := openT(t, t.TempDir(), svc)
			put(t, o, answer("alice", "one\ntwo\nthree"))
			o.Start()
			drain(t, o)
			if got, want := svc.got(), []string{"one\ntwo\nthree#0", "one\ntwo\nthree#1", "one\ntwo\nthree#2"}; !slices.Equal(got, want) {
				t.Errorf("delivered %q, want each part once: %q", got, want)
			}
		})
	})
	t.Run("restart", func(t *testing.T) {
		dir := t.TempDir()
		svc := &fakeService{block: make(chan struct{}), started: make(chan struct{}, 1)}
		o := openT(t, dir, svc)
		put(t, o, answer("alice", "one\ntwo"))
		o.Start()
		<-svc.started // part 0 accepted; the process stops now
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		if st, err := Inspect(dir); err != nil || st.Pending != 1 {
			t.Fatalf("Inspect after stop = %+v, %v; want 1 pending", st, err)
		}
		after := &fakeService{}
		o2 := openT(t, dir, after)
		o2.Start()
		drain(t, o2)
		if got := after.got(); !slices.Equal(got, []string{"one\ntwo#1"}) {
			t.Errorf("after restart delivered %q, want only the second part", got)
		}
	})
}

// A permanent failure drops the answer with its reason in dead.jsonl,
// counts it, and lets the chat's next answer through.
func TestPermanentFailureIsDroppedAndCounted(t *testing.T) {
	dir := t.TempDir()
	svc := &fakeService{fail: func(out picoclaw.Outbound, _ int) error {
		if out.Text == "doomed" {
			return errors.New("HTTP 400 invalidStaffId: the user left the organisation")
		}
		return nil
	}}
	o := openT(t, dir, svc)
	put(t, o, answer("alice", "doomed"))
	put(t, o, answer("alice", "fine"))
	o.Start()
	drain(t, o)
	if got := svc.got(); !slices.Equal(got, []string{"fine#0"}) {
		t.Errorf("delivered %q", got)
	}
	if st := o.Stats(); st.FailedPermanent != 1 || st.Pending != 0 {
		t.Errorf("stats = %+v, want 1 failed for good, none pending", st)
	}
	raw, err := os.ReadFile(filepath.Join(dir, DeadName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "invalidStaffId") || !strings.Contains(string(raw), `"text":"doomed"`) {
		t.Errorf("dead.jsonl = %s, want the answer and its reason", raw)
	}
	if st, err := Inspect(dir); err != nil || st.FailedPermanent != 1 {
		t.Errorf("Inspect = %+v, %v", st, err)
	}
}

func TestRetryableKinds(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", picoclaw.ErrTemporary), true},
		{&picoclaw.RateLimitError{Err: errors.New("QpsLimit")}, true},
		{fmt.Errorf("x: %w", picoclaw.ErrBadResponse), true},
		{fmt.Errorf("attempt: %w", context.DeadlineExceeded), true},
		{fmt.Errorf("x: %w", picoclaw.ErrAuth), false},
		{errors.New("HTTP 400"), false},
	}
	for _, tt := range tests {
		if got := Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// The delivery service is down for 20 s (fake time): the answer stays
// pending, is retried with growing waits, and is delivered exactly once
// soon after the service is back; the chat's next answer waits behind it
// while another chat is not held up.
func TestOutageThenRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		const outage = 20 * time.Second
		var attempts []time.Duration
		svc := &fakeService{}
		svc.fail = func(out picoclaw.Outbound, _ int) error {
			if out.Chat.ID != "alice" {
				return nil
			}
			if since := time.Since(start); since < outage {
				attempts = append(attempts, since)
				return fmt.Errorf("HTTP 500 ServiceUnavailable: %w", picoclaw.ErrTemporary)
			}
			return nil
		}
		o := openT(t, t.TempDir(), svc, func(o *Options) { o.MinBackoff, o.MaxBackoff = time.Second, 8*time.Second })
		put(t, o, answer("alice", "first"))
		put(t, o, answer("alice", "second"))
		put(t, o, answer("bob", "unrelated"))
		o.Start()
		synctest.Wait()
		if got := svc.got(); !slices.Equal(got, []string{"unrelated#0"}) {
			t.Errorf("during the outage delivered %q, want only the other chat's answer", got)
		}
		time.Sleep(outage / 2)
		if st := o.Stats(); st.Pending != 2 || st.OldestAge(time.Now()) != outage/2 {
			t.Errorf("mid-outage stats = %+v (age %v), want 2 pending for %v", st, st.OldestAge(time.Now()), outage/2)
		}
		drain(t, o)
		if got, want := svc.got(), []string{"unrelated#0", "first#0", "second#0"}; !slices.Equal(got, want) {
			t.Errorf("delivered %q, want %q (each once, in order)", got, want)
		}
		if len(attempts) < 4 {
			t.Errorf("only %d failed attempts in a 20 s outage: %v", len(attempts), attempts)
		}
		// Delivered within one maximal wait of the recovery.
		if late := time.Since(start) - outage; late > 8*time.Second {
			t.Errorf("delivered %v after the recovery, want within the 8 s backoff cap", late)
		}
	})
}

// A throttled answer waits at least the Retry-After the service asked
// for, even when the backoff would wait less.
func TestRetryAfterIsHonoured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		var second time.Duration
		tries := 0
		svc := &fakeService{fail: func(picoclaw.Outbound, int) error {
			tries++
			if tries == 1 {
				return &picoclaw.RateLimitError{RetryAfter: 30 * time.Second, Err: errors.New("HTTP 429")}
			}
			second = time.Since(start)
			return nil
		}}
		o := openT(t, t.TempDir(), svc, func(o *Options) { o.MinBackoff = time.Second })
		put(t, o, answer("alice", "throttled"))
		o.Start()
		drain(t, o)
		if second < 30*time.Second {
			t.Errorf("retried after %v, want at least the 30 s Retry-After", second)
		}
	})
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	svc := &fakeService{fail: func(picoclaw.Outbound, int) error { return errors.New("HTTP 400") }}
	o := openT(t, dir, svc)
	put(t, o, answer("alice", "x"))
	o.Start()
	drain(t, o)
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, FileName): 0o600, filepath.Join(dir, DeadName): 0o600} {
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode() != want {
			t.Errorf("%s mode %v, want %v", path, info.Mode(), want)
		}
	}
}

// The file is rewritten once it grows, keeping exactly the undelivered
// answers and their progress.
func TestCompactionKeepsPending(t *testing.T) {
	dir := t.TempDir()
	svc := &fakeService{block: make(chan struct{}), started: make(chan struct{}, 1), blockOnly: "stuck"}
	o := openT(t, dir, svc)
	o.compactAt = 20
	put(t, o, answer("stuck", "one\ntwo")) // part 0 goes out, then it blocks
	o.Start()
	<-svc.started
	for i := range 30 {
		put(t, o, answer(fmt.Sprintf("chat-%d", i), "x"))
	}
	waitPending(t, o, 1)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "\n"); n >= 20 {
		t.Errorf("outbox.jsonl has %d lines after 60 records, want it rewritten", n)
	}
	after := &fakeService{}
	o2 := openT(t, dir, after)
	o2.Start()
	drain(t, o2)
	if got := after.got(); !slices.Equal(got, []string{"one\ntwo#1"}) {
		t.Errorf("after the rewrite and a restart delivered %q, want the stuck answer's second part only", got)
	}
}

// A torn last line (kill -9 mid-write) and a corrupt line are skipped;
// the rest is read back.
func TestDamagedFileIsReadBack(t *testing.T) {
	dir := t.TempDir()
	good := `{"v":1,"op":"put","id":3,"at":"2026-12-01T10:00:00Z","out":{"channel":"dingtalk","chat_kind":"group","chat_id":"cid1==","kind":"answer","text":"survivor"}}`
	data := "not json\n" + good + "\n" + `{"v":1,"op":"put","id":4,"at":"2026-12-01T10:00:01Z","out":{"chan`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := &fakeService{}
	o := openT(t, dir, svc)
	o.Start()
	drain(t, o)
	if got := svc.got(); !slices.Equal(got, []string{"survivor#0"}) {
		t.Errorf("delivered %q", got)
	}
	put(t, o, answer("alice", "after"))
	drain(t, o)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	// New records start on their own line, and ids continue after 3.
	raw, _ := os.ReadFile(filepath.Join(dir, FileName))
	if !strings.Contains(string(raw), `"op":"put","id":4,`) || strings.Contains(string(raw), `{"chan{`) {
		t.Errorf("file after the repair:\n%s", raw)
	}
}

// Answers put while the outbox closes are kept on disk for the next
// start; nothing races (run with -race).
func TestPutDuringClose(t *testing.T) {
	dir := t.TempDir()
	svc := &fakeService{}
	o := openT(t, dir, svc)
	o.Start()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			if err := o.Put(context.Background(), answer(fmt.Sprintf("chat-%d", i), "x")); err != nil {
				if !errors.Is(err, ErrClosed) {
					t.Errorf("put %d: %v", i, err)
				}
				return
			}
		}
	}()
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	st, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	after := &fakeService{}
	o2 := openT(t, dir, after)
	o2.Start()
	drain(t, o2)
	if got := len(svc.got()) + len(after.got()); got < st.Pending || len(after.got()) != st.Pending {
		t.Errorf("%d pending after close, %d delivered after restart", st.Pending, len(after.got()))
	}
}

// A delivered answer's done record is in the file at once (a restart
// after kill -9 does not send it again) but its fdatasync is not waited
// for: the next put's covers it, or the delayed sync doneSyncDelay later.
func TestDoneWrittenAtOnceSyncedLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		o := openT(t, dir, &fakeService{})
		put(t, o, answer("alice", "a1"))
		o.Start()
		drain(t, o)
		if o.gs.Synced() == o.gs.Last() {
			t.Fatal("delivery waited for the done record's fdatasync")
		}
		// What a restart after kill -9 reads: nothing left to send.
		if o2 := openT(t, dir, &fakeService{}); o2.Stats().Pending != 0 {
			t.Fatalf("pending after restart = %d, want 0", o2.Stats().Pending)
		}
		time.Sleep(doneSyncDelay)
		synctest.Wait()
		if o.gs.Synced() != o.gs.Last() {
			t.Error("done record not synced doneSyncDelay after delivery")
		}
	})
}
