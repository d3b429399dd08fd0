package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"picoclaw/agent"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/inbox"
	"picoclaw/provider/providertest"
)

// Fault-table rows that need the real process (kill -9, signals, memory),
// run as in crash_test.go: the test binary is the gateway.

// A model streaming a 20 MB answer: the stream is cut off at
// max_answer_bytes, the user gets the start of it in a few parts ending
// with "[answer truncated]", and the gateway's peak memory stays flat.
func TestFaultTableHugeAnswer(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	block := strings.Repeat("x", 1023) + "\n"
	h.llm.Enqueue(providertest.Reply{Content: block, ChunkSize: len(block), Repeat: 20 << 10}) // 20 MiB
	child := startChild(t, h)
	h.push(dingtalktest.BotMessage{Text: "say a lot"})
	// The last part carries the mark; parts go out in order.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(strings.Join(delivered(h), ""), "[answer truncated]") {
		if time.Now().After(deadline) {
			t.Fatalf("no part ending the answer arrived; got %d parts", len(delivered(h)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	hwm := readVmHWM(t, child.Process.Pid)
	parts := delivered(h)
	t.Logf("20 MiB streamed answer: %d parts delivered, gateway VmHWM %d kB (race detector: %v)", len(parts), hwm, raceEnabled)
	// 65,536 bytes in parts of at most 20,000 characters.
	if len(parts) == 0 || len(parts) > 5 {
		t.Fatalf("%d parts delivered, want 4 or 5", len(parts))
	}
	if last := parts[len(parts)-1]; !strings.HasSuffix(strings.TrimSpace(last), "[answer truncated]") {
		t.Errorf("the last part ends %q, want [answer truncated]", last[max(0, len(last)-40):])
	}
	total := 0
	for _, p := range parts {
		total += len(p)
	}
	if total < 60<<10 || total > 70<<10 {
		t.Errorf("%d bytes delivered, want about max_answer_bytes (64 KiB)", total)
	}
	if !raceEnabled && hwm > 64<<10 {
		t.Errorf("gateway VmHWM %d kB after a 20 MiB answer, want under 64 MB", hwm)
	}
}

// kill -9 mid-turn, twice for the same message (a message that brings the
// process down): after the second restart the message is not run a third
// time but answered with an apology and dead-lettered with the reason.
// (Killed once, a message is answered after the restart exactly once:
// TestFaultTableKill9MidTurn.)
func TestFaultTableKill9TwiceDeadLetters(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	inModel := make(chan struct{}, 4)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	var poisonCalls atomic.Int32
	h.llm.SetHandler(func(r providertest.RecordedRequest) providertest.Reply {
		if r.LastUser() == "poison" {
			poisonCalls.Add(1)
			inModel <- struct{}{}
			<-block // the process dies while we wait
		}
		return providertest.Reply{Content: "answer to " + r.LastUser()}
	})
	child := startChild(t, h)
	h.push(dingtalktest.BotMessage{SenderStaffID: "u1", Text: "poison"})
	<-inModel
	kill9(t, child)
	child = startChild(t, h)
	<-inModel // replayed once
	kill9(t, child)
	startChild(t, h)
	waitDelivered(t, h, agent.GaveUpText)
	h.push(dingtalktest.BotMessage{SenderStaffID: "u1", Text: "next"})
	waitDelivered(t, h, "answer to next")
	if n := poisonCalls.Load(); n != 2 {
		t.Errorf("the poison message reached the model %d times, want 2", n)
	}
	raw, err := os.ReadFile(filepath.Join(h.dataDir, "inbox", inbox.DeadLetterName))
	if err != nil || !strings.Contains(string(raw), `"text":"poison"`) || !strings.Contains(string(raw), "did not finish") {
		t.Errorf("dead-letter file %q (%v), want the message with its reason", raw, err)
	}
}

// The first SIGTERM logs at once what it waits for; a second signal stops
// at once, within the exit bound, leaving the unfinished turn in the
// journal: after the restart it is answered, exactly once.
func TestFaultTableSecondSignalStopsNow(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	var hang atomic.Bool
	hang.Store(true)
	h.llm.SetHandler(func(r providertest.RecordedRequest) providertest.Reply {
		if hang.Load() {
			return providertest.Reply{Delay: time.Hour}
		}
		return providertest.Reply{Content: "answer to " + r.LastUser()}
	})
	child := startChild(t, h)
	h.push(dingtalktest.BotMessage{Text: "slow"})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := h.llm.WaitRequests(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitLog(t, h, "finishing 1 answers, up to 20 s; Ctrl-C again to stop now")
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	if err := child.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Fatal("still running 15 s after the second signal")
	}
	waitLog(t, h, "stopping now (second signal)")
	if got := delivered(h); len(got) != 0 {
		t.Errorf("delivered %q before the restart, want nothing", got)
	}
	hang.Store(false)
	startChild(t, h)
	waitDelivered(t, h, "answer to slow")
	h.push(dingtalktest.BotMessage{Text: "later"})
	waitDelivered(t, h, "answer to later")
	if got := delivered(h); len(got) != 2 {
		t.Errorf("delivered %q, want each answer exactly once", got)
	}
}

func waitLog(t *testing.T, h *gatewayHarness, s string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(h.logs.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the log never said %q", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// readVmHWM returns the peak resident set of process pid, in kB.
func readVmHWM(t *testing.T, pid int) int {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("VmHWM line %q: %v", line, err)
			}
			return kb
		}
	}
	t.Fatal("no VmHWM in /proc/pid/status")
	return 0
}
