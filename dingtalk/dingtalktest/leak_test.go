package dingtalktest

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCloseLeavesNoGoroutines exercises every goroutine-starting path of
// the fake, then checks Close took them all down.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	http.DefaultClient.CloseIdleConnections()
	before := runtime.NumGoroutine()

	s := NewUnstartedServer()
	s.DisconnectDelay = time.Hour
	s.Start()
	ws := dialRaw(t, s)
	// A redelivery still scheduled at Close must not outlive it.
	s.SetRedelivery(time.Hour)
	if _, err := s.PushBotMessage(BotMessage{Text: "x"}); err != nil {
		t.Fatal(err)
	}
	readJSON(t, ws)
	dialRaw(t, s)
	s.SetZombie(true)
	dialRaw(t, s)
	if _, err := s.Disconnect("bye"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	http.DefaultClient.CloseIdleConnections()
	if n := s.PendingRedeliveries(); n != 0 {
		t.Errorf("%d redeliveries still scheduled after Close", n)
	}

	// Goroutines end asynchronously after their sockets close; the bound
	// only keeps a leak from hanging the test.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		buf = buf[:runtime.Stack(buf, true)]
		var ours []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "dingtalktest") && !strings.Contains(g, "TestCloseLeavesNoGoroutines") {
				ours = append(ours, g)
			}
		}
		if len(ours) > 0 {
			t.Fatalf("%d goroutines before, %d after Close; the fake's:\n%s", before, n, strings.Join(ours, "\n\n"))
		}
	}
}
