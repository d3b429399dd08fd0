package main

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"picoclaw/internal/testutil"
	"picoclaw/provider/providertest"
)

// replRun starts `agent` with stdin from a pipe and Ctrl-C from intr; wait
// returns its exit code.
func replRun(t *testing.T, cfgPath string, intr chan os.Signal) (stdin *io.PipeWriter, out, errOut *testutil.SyncBuffer, wait func() int) {
	t.Helper()
	pr, pw := io.Pipe()
	out, errOut = &testutil.SyncBuffer{}, &testutil.SyncBuffer{}
	e := &env{stdout: out, stderr: errOut, stdin: pr, getenv: func(string) string { return "" }, interrupts: intr}
	codes := make(chan int, 1)
	go func() {
		codes <- e.execute(context.Background(), []string{"agent", "--config", cfgPath})
		pr.Close()
	}()
	t.Cleanup(func() { pw.Close() })
	return pw, out, errOut, func() int {
		t.Helper()
		select {
		case c := <-codes:
			return c
		case <-time.After(2 * time.Minute):
			t.Fatal("agent REPL did not exit")
			return -1
		}
	}
}

// Ctrl-C during an answer cancels it and returns to the prompt; the next
// message is answered; Ctrl-D leaves with exit 0, no ERROR line and no
// chat apology.
func TestREPLCtrlCCancelsTheAnswer(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.Enqueue(providertest.Reply{Content: "never", Delay: time.Hour})
	intr := make(chan os.Signal)
	stdin, out, errOut, wait := replRun(t, h.cfgPath, intr)

	io.WriteString(stdin, "tell me a long story\n")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := h.llm.WaitRequests(ctx, 1); err != nil {
		t.Fatalf("the model was not asked: %v", err)
	}
	intr <- os.Interrupt // received while the answer is in progress
	io.WriteString(stdin, "second\n")
	stdin.Close() // Ctrl-D

	if code := wait(); code != 0 {
		t.Errorf("exit %d, want 0", code)
	}
	o, eo := out.String(), errOut.String()
	if !strings.Contains(o, "(answer cancelled)") {
		t.Errorf("stdout %q does not say the answer was cancelled", o)
	}
	if strings.Contains(o, "never") || !strings.Contains(o, "second") {
		t.Errorf("stdout %q: want the second message answered and not the cancelled one", o)
	}
	for _, bad := range []string{"ERROR", "Sorry", "抱歉"} {
		if strings.Contains(o+eo, bad) {
			t.Errorf("output has %q:\nstdout %s\nstderr %s", bad, o, eo)
		}
	}
	if n := len(h.llm.Requests()); n != 2 {
		t.Errorf("%d model calls, want 2", n)
	}
}

// Two Ctrl-C at an empty prompt leave (exit 0); so does /exit.
func TestREPLLeaves(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	intr := make(chan os.Signal)
	_, out, errOut, wait := replRun(t, h.cfgPath, intr)
	intr <- os.Interrupt
	intr <- os.Interrupt
	if code := wait(); code != 0 || !strings.Contains(out.String(), "Ctrl-C again") || errOut.String() != "" {
		t.Errorf("two Ctrl-C: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	stdin, _, errOut, wait := replRun(t, h.cfgPath, make(chan os.Signal))
	io.WriteString(stdin, "/exit\n")
	if code := wait(); code != 0 || errOut.String() != "" {
		t.Errorf("/exit: exit %d, stderr %q", code, errOut)
	}
	if n := len(h.llm.Requests()); n != 0 {
		t.Errorf("%d model calls, want none", n)
	}
}

// A terminal error shows the provider's status and message and the field
// to fix, not the chat users' "please ask the administrator"; the REPL
// goes on.
func TestREPLErrorShowsCauseAndFix(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.Enqueue(providertest.OpenAIUnauthorized())
	stdin, out, errOut, wait := replRun(t, h.cfgPath, make(chan os.Signal))
	io.WriteString(stdin, "hello\nagain\n")
	stdin.Close()
	if code := wait(); code != 0 {
		t.Errorf("exit %d", code)
	}
	eo := errOut.String()
	for _, want := range []string{"HTTP 401", "Incorrect API key", "fix:", "model_list[0].api_key"} {
		if !strings.Contains(eo, want) {
			t.Errorf("stderr lacks %q:\n%s", want, eo)
		}
	}
	if o := out.String(); strings.Contains(o+eo, "administrator") || strings.Contains(o, "抱歉") || !strings.Contains(o, "again") {
		t.Errorf("stdout %q: want no apology and the next message answered", o)
	}
}

// Only the interactive agent takes Ctrl-C for itself.
func TestWantsREPL(t *testing.T) {
	for args, want := range map[string]bool{
		"agent": true, "--config x.json agent": true, "agent --show-reasoning": true,
		"agent -m hi": false, "agent --message=hi": false, "agent --help": false,
		"gateway": false, "": false, "cron list": false,
	} {
		e := &env{getenv: func(string) string { return "" }}
		if got := e.wantsREPL(strings.Fields(args)); got != want {
			t.Errorf("wantsREPL(%q) = %v, want %v", args, got, want)
		}
	}
}
