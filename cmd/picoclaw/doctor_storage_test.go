package main

import (
	"fmt"
	"strings"
	"testing"

	"picoclaw/internal/natstest"
)

// TestDoctorChecksNATSStorage: with storage.backend "nats" the doctor
// connects and readies the layout as a gateway would, and a NATS that
// cannot be reached is a FAIL line naming the URL and the fix.
func TestDoctorChecksNATSStorage(t *testing.T) {
	nats := natstest.Start(t)
	h := newGatewayHarness(t, harnessOptions{tools: execOff,
		storage: map[string]any{"backend": "nats", "nats": map[string]any{"url": nats.URL()}}})
	code, out := runDoctor(t, h)
	if code != 0 {
		t.Fatalf("exit %d, want 0; output:\n%s", code, out)
	}
	lineOf(t, out, "ok ", "storage: nats ("+nats.URL())

	down := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))
	h = newGatewayHarness(t, harnessOptions{tools: execOff,
		storage: map[string]any{"backend": "nats", "nats": map[string]any{"url": down}}})
	code, out = runDoctor(t, h)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	l := lineOf(t, out, "FAIL", "storage")
	if !strings.Contains(l, down) || !strings.Contains(l, "nats-server -js") {
		t.Errorf("storage line lacks the URL or the fix: %s", l)
	}
}
