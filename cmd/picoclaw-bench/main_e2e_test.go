package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"
)

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
