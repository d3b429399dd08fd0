package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
	"picoclaw/sandbox"
)

// TestMain lets the test binary act as the picoclaw binary, so the crash
// test can kill -9 a real gateway process without a separate build.
func TestMain(m *testing.M) {
	sandbox.RunChildIfAsked()
	if os.Getenv("PICOCLAW_TEST_AS_MAIN") == "1" {
		os.Exit(runProcess())
	}
	os.Exit(m.Run())
}

// startChild runs the gateway as a child process and waits until it is
// connected.
func startChild(t *testing.T, h *gatewayHarness) *exec.Cmd {
	t.Helper()
	before := h.dt.ConnectionCount()
	cmd := exec.Command(os.Args[0], "gateway", "--config", h.cfgPath, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "PICOCLAW_TEST_AS_MAIN=1")
	cmd.Stdout, cmd.Stderr = h.logs, h.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	waitConnections(t, h.dt, before+1)
	return cmd
}

// waitJournalDone waits until the gateway's inbox journal records msgID
// as answered.
func waitJournalDone(t *testing.T, dataDir, msgID string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	want := `"op":"done","id":"` + msgID + `"`
	for {
		raw, _ := os.ReadFile(filepath.Join(dataDir, "inbox", "journal.jsonl"))
		if strings.Contains(string(raw), want) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the journal never recorded %s as answered", msgID)
		case <-tick.C:
		}
	}
}

func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// kill -9 during a slow model call loses nothing: after restart the
// message is answered exactly once, and a redelivery of an answered
// message gets no second answer.
func TestFaultTableKill9MidTurn(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	inModel := make(chan struct{}, 1)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	var crashed atomic.Bool
	h.llm.SetHandler(func(r providertest.RecordedRequest) providertest.Reply {
		text := r.LastUser()
		if text == "slow question" && crashed.CompareAndSwap(false, true) {
			inModel <- struct{}{}
			<-block // the process dies while we wait
		}
		return providertest.Reply{Content: "answer to " + text}
	})

	child := startChild(t, h)
	answered := h.push(dingtalktest.BotMessage{SenderStaffID: "user-a", Text: "first"})
	second := h.push(dingtalktest.BotMessage{SenderStaffID: "user-a", Text: "second"})
	// Same chat, in order: once "second" is answered, "first" is marked done.
	if got := h.waitReplies(2); got[1].Text != "answer to second" {
		t.Fatalf("replies before the crash = %+v", got)
	}
	// Done records reach the journal up to inbox.DoneDelay late; a kill
	// before that would rightly answer "second" again after the restart.
	waitJournalDone(t, h.dataDir, second.MsgID)
	slow := h.push(dingtalktest.BotMessage{SenderStaffID: "user-b", Text: "slow question"})
	<-inModel
	if _, ok := findAck(h.dt, slow.MessageID); !ok {
		t.Fatal("the frame was not acked before the model call")
	}
	kill9(t, child)

	startChild(t, h)
	// The reply route may have been lost with the process (routes are
	// saved in the background), so the answer may come by OpenAPI.
	waitDelivered(t, h, "answer to slow question")
	// DingTalk redelivers both; neither is answered again.
	if _, err := h.dt.Redeliver(slow); err != nil {
		t.Fatal(err)
	}
	if _, err := h.dt.Redeliver(answered); err != nil {
		t.Fatal(err)
	}
	h.push(dingtalktest.BotMessage{SenderStaffID: "user-b", Text: "later"})
	waitDelivered(t, h, "answer to later")
	counts := map[string]int{}
	for _, text := range delivered(h) {
		counts[text]++
	}
	for _, want := range []string{"answer to first", "answer to second", "answer to slow question", "answer to later"} {
		if counts[want] != 1 {
			t.Errorf("%q delivered %d times, want exactly once", want, counts[want])
		}
	}
	for text, n := range counts {
		if n > 1 {
			t.Errorf("%q answered %d times", text, n)
		}
	}
}

// delivered lists every answer text the fake DingTalk received, by
// session webhook or by OpenAPI.
func delivered(h *gatewayHarness) []string {
	var out []string
	for _, r := range h.dt.Replies() {
		out = append(out, r.Text)
	}
	for _, s := range h.dt.OpenAPISends() {
		out = append(out, s.Text)
	}
	return out
}

func waitDelivered(t *testing.T, h *gatewayHarness, text string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !slices.Contains(delivered(h), text) {
		if time.Now().After(deadline) {
			t.Fatalf("%q never delivered; got %q", text, delivered(h))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SIGTERM (what systemd and docker send) stops the real process
// gracefully: it closes the socket and exits 0.
func TestSIGTERMExitsZero(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			h := newGatewayHarness(t, harnessOptions{})
			child := startChild(t, h)
			h.push(dingtalktest.BotMessage{Text: "before the signal"})
			waitDelivered(t, h, "before the signal")
			if err := child.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- child.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("exit after %v: %v, want status 0", sig, err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("still running 30 s after %v", sig)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := h.dt.WaitClosed(ctx, 1); err != nil {
				t.Errorf("the stream socket was not closed: %v", err)
			}
		})
	}
}
