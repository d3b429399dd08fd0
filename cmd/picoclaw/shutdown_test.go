package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"picoclaw/internal/testutil"
)

// The first signal cancels stop, the second now; if stopping overruns
// the bound anyway (a turn or tool that nothing can interrupt), the
// watchdog says so and exits with status 1.
func TestShutdownSignalsAndWatchdog(t *testing.T) {
	exited := make(chan int, 1)
	var stderr testutil.SyncBuffer
	stop, now, release := notifyShutdown(&stderr, func(code int) { exited <- code }, 0)
	defer release()

	signal := func() {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not happen", what)
		}
	}
	signal()
	wait(stop.Done(), "the first signal's stop")
	if now.Err() != nil {
		t.Fatal("the first signal also cancelled now")
	}
	signal()
	wait(now.Done(), "the second signal's stop-now")
	select {
	case code := <-exited:
		if code != 1 || !strings.Contains(stderr.String(), "exiting now") {
			t.Errorf("watchdog exit(%d), stderr %q; want exit(1) saying why", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the watchdog never ended a shutdown that overran")
	}
}
