package main

import (
	"context"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

// TestMain lets the test binary act as the picoclaw binary, so the crash
// test can kill -9 a real gateway process without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("PICOCLAW_TEST_AS_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
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
func TestKill9DuringModelCall(t *testing.T) {
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
	h.push(dingtalktest.BotMessage{SenderStaffID: "user-a", Text: "second"})
	// Same chat, in order: once "second" is answered, "first" is marked done.
	if got := h.waitReplies(2); got[1].Text != "answer to second" {
		t.Fatalf("replies before the crash = %+v", got)
	}
	slow := h.push(dingtalktest.BotMessage{SenderStaffID: "user-b", Text: "slow question"})
	<-inModel
	if _, ok := findAck(h.dt, slow.MessageID); !ok {
		t.Fatal("the frame was not acked before the model call")
	}
	kill9(t, child)

	startChild(t, h)
	replies := h.waitReplies(3)
	if got := replies[2]; got.Text != "answer to slow question" {
		t.Errorf("after restart the pending message got %q", got.Text)
	}
	// DingTalk redelivers both; neither is answered again.
	if _, err := h.dt.Redeliver(slow); err != nil {
		t.Fatal(err)
	}
	if _, err := h.dt.Redeliver(answered); err != nil {
		t.Fatal(err)
	}
	h.push(dingtalktest.BotMessage{SenderStaffID: "user-b", Text: "later"})
	replies = h.waitReplies(4)
	if len(replies) != 4 || replies[3].Text != "answer to later" {
		var texts []string
		for _, r := range replies {
			texts = append(texts, r.Text)
		}
		t.Errorf("replies = %q; want one answer per message and no duplicates", texts)
	}
	counts := map[string]int{}
	for _, r := range h.dt.Replies() {
		counts[r.Text]++
	}
	for text, n := range counts {
		if n > 1 {
			t.Errorf("%q answered %d times", text, n)
		}
	}
}
