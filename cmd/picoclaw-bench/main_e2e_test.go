package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the bench when --netns
// re-executes it inside the namespaces.
func TestMain(m *testing.M) {
	if inNetns() {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestBenchEndToEnd builds the real gateway and runs every phase at a
// small scale; it checks that each phase got all its answers and that the
// report carries every figure, not the speed.
func TestBenchEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	args := []string{"--json", "--tmpdir", t.TempDir(), "--starts", "2", "--idle", "10ms",
		"--chats", "4", "--delay", "20ms", "--messages", "30", "--senders", "6", "--timeout", "30s",
		"--soak", "300ms", "--rate", "20"}
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var out struct {
		Results results `json:"results"`
		Rows    []row   `json:"rows"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	r := out.Results
	checks := []struct {
		name string
		ok   bool
	}{
		{"binary measured", r.BinaryBytes > 0},
		{"two starts timed", len(r.Start.Starts) == 2 && r.Start.Median > 0},
		{"concurrency all answered", r.Concurrency.Answered == 4 && r.Concurrency.Lost == 0 && r.Concurrency.Elapsed >= 20*time.Millisecond},
		{"throughput all answered", r.Throughput.Answered == 30 && r.Throughput.Lost+r.Throughput.Dups+r.Throughput.Wrong+r.Throughput.AcksLost == 0},
		{"throughput latencies", r.Throughput.P50 > 0 && r.Throughput.P99 >= r.Throughput.P50},
		{"soak ran", r.Soak != nil && r.Soak.Pushed > 0 && r.Soak.Answered == r.Soak.Pushed},
		{"rows", len(out.Rows) > 10},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: results %+v", c.name, r)
		}
	}
}

// TestBenchCompare runs --compare with a second picoclaw binary in the
// namespaces (skipped where user namespaces are not allowed) and checks
// that both gateways went through every phase over TLS.
func TestBenchCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	other := filepath.Join(t.TempDir(), "picoclaw-other")
	build := exec.CommandContext(ctx, "go", "build", "-o", other, "picoclaw/cmd/picoclaw")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	args := []string{"--json", "--tmpdir", t.TempDir(), "--starts", "2", "--idle", "10ms",
		"--chats", "3", "--delay", "20ms", "--messages", "12", "--senders", "4", "--timeout", "30s",
		"--compare", other, "--compare-config", "templates/picoclaw.json", "--compare-name", "again"}
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		if strings.Contains(stderr.String(), "namespaces") || strings.Contains(stderr.String(), "operation not permitted") {
			t.Skipf("no user namespaces here: %s", stderr.String())
		}
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var out struct {
		Results results `json:"results"`
		Compare struct {
			Results results `json:"results"`
			Rows    []row   `json:"rows"`
		} `json:"compare"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	for _, r := range []results{out.Results, out.Compare.Results} {
		if !r.TLS || len(r.Start.Starts) != 2 || r.Throughput.Answered != 12 || r.Concurrency.Answered != 3 || r.Idle.Mem.RSS == 0 {
			t.Errorf("%s: %+v", r.Name, r)
		}
	}
	if out.Compare.Results.Name != "again" || len(out.Compare.Rows) == 0 {
		t.Errorf("compared gateway: name %q, %d rows", out.Compare.Results.Name, len(out.Compare.Rows))
	}
}
