package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// goodResults meets every target.
func goodResults() *results {
	return &results{
		BinaryBytes: 8 * mb,
		Start:       startResult{Starts: []time.Duration{9 * time.Millisecond}, Median: 9 * time.Millisecond},
		Idle:        idleResult{Mem: memInfo{RSS: 7 * mb, Peak: 8 * mb, Anon: 2 * mb, File: 5 * mb, PSS: 7 * mb}},
		Concurrency: concurrencyResult{Chats: 50, Delay: time.Second, Elapsed: 1100 * time.Millisecond, Answered: 50},
		Throughput: throughputResult{Messages: 2000, Senders: 200, PerSecond: 1500, Answered: 2000,
			P50: 2 * time.Millisecond, P99: 9 * time.Millisecond, Peak: memInfo{Peak: 20 * mb},
			GatewayCPU: 1500 * time.Millisecond, BenchCPU: 1800 * time.Millisecond},
	}
}

func TestRowsTargets(t *testing.T) {
	opts, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(r *results)
		failed []string // figures that must fail; every other one must not
	}{
		{name: "all met", change: func(*results) {}},
		{name: "big binary", change: func(r *results) { r.BinaryBytes = 21 * mb }, failed: []string{"binary size"}},
		{name: "slow start", change: func(r *results) { r.Start.Median = 31 * time.Millisecond }, failed: []string{"start → connected"}},
		{name: "fat idle", change: func(r *results) { r.Idle.Mem.RSS = 11 * mb }, failed: []string{"idle VmRSS"}},
		{name: "fat idle heap", change: func(r *results) { r.Idle.Mem.Anon = 3*mb + 1 }, failed: []string{"idle RssAnon"}},
		{name: "concurrency slow", change: func(r *results) { r.Concurrency.Elapsed = 1501 * time.Millisecond }, failed: []string{"concurrency N="}},
		{name: "concurrency lost", change: func(r *results) { r.Concurrency.Answered, r.Concurrency.Lost = 49, 1 },
			failed: []string{"concurrency N=", "concurrency lost"}},
		{name: "throughput low", change: func(r *results) { r.Throughput.PerSecond = 999 }, failed: []string{"throughput"}},
		{name: "p99 high", change: func(r *results) { r.Throughput.P99 = 21 * time.Millisecond }, failed: []string{"latency p99"}},
		{name: "gateway CPU high", change: func(r *results) { r.Throughput.GatewayCPU = 2001 * time.Millisecond },
			failed: []string{"gateway CPU per answer"}},
		{name: "no answers", change: func(r *results) { r.Throughput.Answered, r.Throughput.PerSecond, r.Throughput.Lost = 0, 0, 2000 },
			failed: []string{"throughput", "latency p99", "gateway CPU per answer", "answers lost"}},
		{name: "peak high", change: func(r *results) { r.Throughput.Peak.Peak = 41 * mb }, failed: []string{"RSS peak"}},
		{name: "losses", change: func(r *results) {
			r.Throughput.AcksLost, r.Throughput.Lost, r.Throughput.Dups, r.Throughput.Wrong = 1, 1, 1, 1
		}, failed: []string{"acks lost", "answers lost", "answers duplicated", "replies not matching"}},
		{name: "soak leaks", change: func(r *results) {
			r.Soak = &soakResult{Duration: time.Minute, Rate: 50, PerSecond: 50, Pushed: 3000, Answered: 3000,
				P99: 5 * time.Millisecond, RSSFirst: 10 * mb, RSSLast: 45 * mb, RSSMax: 45 * mb}
		}, failed: []string{"soak RSS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goodResults()
			tt.change(r)
			for _, row := range r.rows(opts) {
				want := false
				for _, f := range tt.failed {
					want = want || strings.HasPrefix(row.Figure, f)
				}
				if got := row.Status == statusFail; got != want {
					t.Errorf("%s: status %s, want failed=%v (value %s, target %s)", row.Figure, row.Status, want, row.Value, row.Target)
				}
			}
		})
	}
}

// The throughput figures the issue sets targets for come with them, and
// with --cards the card calls per answer come from the fake's counts.
func TestRowsThroughputAndCards(t *testing.T) {
	r := goodResults()
	r.Throughput.CardCreates, r.Throughput.CardUpdates = 2000, 3000
	for _, tt := range []struct {
		name  string
		args  []string
		want  map[string][2]string // figure prefix → value, target
		unset []string             // figure prefixes that must be absent
	}{
		{name: "plain", want: map[string][2]string{
			"throughput":             {"1500 answers/s (2000 in 0 µs)", "≥ 1000 answers/s"},
			"latency p50":            {"2.0 ms", ""},
			"latency p99":            {"9.0 ms", "≤ 20.0 ms"},
			"gateway CPU per answer": {"0.75 ms", "≤ 1.00 ms"},
			"CPU in throughput":      {"1.500 s / 1.800 s (bench+fakes 0.90 ms per answer)", ""},
		}, unset: []string{"card"}},
		{name: "cards", args: []string{"--cards"}, want: map[string][2]string{
			"card API calls per answer":         {"2.50 (createAndDeliver 1.00 + streaming 1.50)", ""},
			"card streaming updates per answer": {"1.50", ""},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := parseFlags(tt.args, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			rows := r.rows(opts)
			for prefix, want := range tt.want {
				found := false
				for _, row := range rows {
					if strings.HasPrefix(row.Figure, prefix) {
						found = true
						if row.Value != want[0] || row.Target != want[1] {
							t.Errorf("%s: %q, target %q; want %q, target %q", row.Figure, row.Value, row.Target, want[0], want[1])
						}
					}
				}
				if !found {
					t.Errorf("no row %q in %+v", prefix, rows)
				}
			}
			for _, row := range rows {
				for _, prefix := range tt.unset {
					if strings.HasPrefix(row.Figure, prefix) {
						t.Errorf("row %q without --cards", row.Figure)
					}
				}
			}
		})
	}
}

func TestWriteOutputs(t *testing.T) {
	opts, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	r := goodResults()
	r.Throughput.PerSecond = 10
	rows := r.rows(opts)

	var table bytes.Buffer
	if err := writeTable(&table, rows); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"figure", "binary size", "8.0 MB", "≤ 20.0 MB", "10 answers/s", "FAIL", "1 target(s) missed"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}

	var js bytes.Buffer
	other := goodResults()
	other.Name, other.BinaryBytes, other.Start.Median = "PicoClaw", 32*mb, 90*time.Millisecond
	if err := writeJSON(&js, []*results{r, other}, opts); err != nil {
		t.Fatal(err)
	}
	type back struct {
		Results struct {
			BinaryBytes int64 `json:"binary_bytes"`
		} `json:"results"`
		Rows []row `json:"rows"`
	}
	var got struct {
		back
		Compare back `json:"compare"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Results.BinaryBytes != 8*mb || len(got.Rows) != len(rows) || got.Compare.Results.BinaryBytes != 32*mb {
		t.Errorf("JSON round trip: binary %d (compared %d), %d rows; want %d (%d), %d",
			got.Results.BinaryBytes, got.Compare.Results.BinaryBytes, len(got.Rows), 8*mb, 32*mb, len(rows))
	}

	var cmp bytes.Buffer
	if err := writeCompareTable(&cmp, rows, other.rows(opts), other.Name); err != nil {
		t.Fatal(err)
	}
	// 8 MB ÷ 32 MB and 9 ms ÷ 90 ms.
	for _, want := range []string{"PicoClaw", "picoclaw ÷ PicoClaw", "32.0 MB", "0.25", "90.0 ms", "0.10"} {
		if !strings.Contains(cmp.String(), want) {
			t.Errorf("comparison lacks %q:\n%s", want, cmp.String())
		}
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		check   func(o options) bool
		wantErr bool
	}{
		{name: "defaults", check: func(o options) bool {
			return o.starts == 5 && o.idle == 5*time.Second && o.chats == 50 && o.delay == time.Second &&
				o.messages == 2000 && o.senders == 200 && o.timeout == time.Minute && o.soak == 0 && o.rate == 50 && !o.plain && !o.netns
		}},
		{name: "set", args: []string{"--chats", "3", "--delay", "10ms", "--json", "--soak", "1m", "--cards"}, check: func(o options) bool {
			return o.chats == 3 && o.delay == 10*time.Millisecond && o.json && o.soak == time.Minute && o.cards
		}},
		{name: "zero chats", args: []string{"--chats", "0"}, wantErr: true},
		{name: "negative delay", args: []string{"--delay", "-1s"}, wantErr: true},
		{name: "stray argument", args: []string{"extra"}, wantErr: true},
		{name: "compare implies netns", args: []string{"--compare", "/bin/other", "--compare-config", "t.json"},
			check: func(o options) bool { return o.netns && !o.plain && o.compareArgs == "gateway" }},
		{name: "compare without template", args: []string{"--compare", "/bin/other"}, wantErr: true},
		{name: "compare over plain HTTP", args: []string{"--compare", "/bin/other", "--compare-config", "t.json", "--plain"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseFlags(tt.args, &bytes.Buffer{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && !tt.check(o) {
				t.Errorf("options = %+v", o)
			}
		})
	}
}
