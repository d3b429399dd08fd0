package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
)

// A second gateway on the same data dir exits 1 at once, naming the pid
// of the first, without connecting to DingTalk; the first keeps
// answering.
func TestFaultTableTwoGatewaysOneDataDir(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	first := startChild(t, h)
	before := h.dt.ConnectionCount()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	second := exec.CommandContext(ctx, os.Args[0], "gateway", "--config", h.cfgPath)
	second.Env = append(os.Environ(), "PICOCLAW_TEST_AS_MAIN=1")
	out, err := second.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("second gateway: %v, want exit status 1; output:\n%s", err, out)
	}
	want := fmt.Sprintf("another picoclaw gateway (pid %d) is using %s", first.Process.Pid, h.dataDir)
	if !strings.Contains(string(out), want) {
		t.Errorf("second gateway said:\n%s\nwant it to say %q", out, want)
	}
	if n := h.dt.ConnectionCount(); n != before {
		t.Errorf("the second gateway connected to DingTalk (%d connections, want %d)", n, before)
	}
	h.push(dingtalktest.BotMessage{Text: "still there?"})
	waitDelivered(t, h, "still there?")
}
