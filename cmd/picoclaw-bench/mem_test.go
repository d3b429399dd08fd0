package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	const doc = "Name:\tpicoclaw\nVmPeak:\t 1247232 kB\nVmHWM:\t    9216 kB\nVmRSS:\t    8192 kB\n" +
		"RssAnon:\t    3072 kB\nRssFile:\t    5120 kB\nThreads:\t7\n"
	tests := []struct {
		name    string
		doc     string
		want    memInfo
		wantErr string
	}{
		{name: "both figures", doc: doc, want: memInfo{RSS: 8192 * 1024, Peak: 9216 * 1024, Anon: 3072 * 1024, File: 5120 * 1024}},
		{name: "old kernel without the split", doc: "VmHWM:\t 9 kB\nVmRSS:\t 8 kB\n", want: memInfo{RSS: 8192, Peak: 9216}},
		{name: "peak missing", doc: "VmRSS:\t 8192 kB\n", wantErr: "missing"},
		{name: "unit not kB", doc: "VmHWM:\t 9 MB\nVmRSS:\t 8 MB\n", wantErr: "unexpected"},
		{name: "not a number", doc: "VmHWM:\t x kB\nVmRSS:\t 8 kB\n", wantErr: "VmHWM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseStatus = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParsePSS(t *testing.T) {
	const doc = "5632a2a40000-7ffca677b000 ---p 00000000 00:00 0   [rollup]\nRss:    1640 kB\nPss:     262 kB\nPss_Anon:  112 kB\n"
	if got, err := parsePSS([]byte(doc)); err != nil || got != 262*1024 {
		t.Fatalf("parsePSS = %d, %v; want %d", got, err, 262*1024)
	}
	if _, err := parsePSS([]byte("Rss: 1 kB\n")); err == nil {
		t.Fatal("parsePSS without a Pss line: no error")
	}
}

func TestParseSchedstat(t *testing.T) {
	if got, err := parseSchedstat([]byte("2023682 14789214 10\n")); err != nil || got != 2023682 {
		t.Fatalf("parseSchedstat = %v, %v; want 2.023682ms", got, err)
	}
	if _, err := parseSchedstat([]byte("")); err == nil {
		t.Fatal("empty schedstat: no error")
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    time.Duration
		wantErr bool
	}{
		{name: "plain", line: "42 (picoclaw) S 1 42 42 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0 100 0 0",
			want: 3 * time.Second},
		{name: "name with spaces and parens", line: "42 (a (b) c) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 100 0 0",
			want: 100 * time.Millisecond},
		{name: "truncated", line: "42 (x) R 1 2 3", wantErr: true},
		{name: "no name", line: "42 x R", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.line))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseStatCPU = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseStatChildCPU(t *testing.T) {
	// utime 250, stime 50, cutime 7, cstime 3 ticks.
	got, err := parseStatChildCPU([]byte("42 (a (b) c) S 1 42 42 0 -1 4194560 900 0 0 0 250 50 7 3 20 0 9 0 100 0 0"))
	if err != nil || got != 100*time.Millisecond {
		t.Fatalf("parseStatChildCPU = %v, %v; want 100ms", got, err)
	}
	if _, err := parseStatChildCPU([]byte("42 (x) R 1 2 3 4 5 6 7 8 9 10 11 12")); err == nil {
		t.Fatal("a line without the children's fields parsed")
	}
}

func TestPercentileAndMedian(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // reversed: the functions must sort
	}
	tests := []struct {
		name      string
		in        []time.Duration
		p         float64
		wantP     time.Duration
		wantMedia time.Duration
	}{
		{"none", nil, 99, 0, 0},
		{"one", ms(7), 99, 7 * time.Millisecond, 7 * time.Millisecond},
		{"odd", ms(5, 1, 3), 50, 3 * time.Millisecond, 3 * time.Millisecond},
		{"even takes lower middle", ms(4, 1, 3, 2), 50, 2 * time.Millisecond, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond, 50 * time.Millisecond},
		{"max", ms(hundred...), 100, 100 * time.Millisecond, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.in, tt.p); got != tt.wantP {
				t.Errorf("percentile(%v) = %v, want %v", tt.p, got, tt.wantP)
			}
			if got := median(tt.in); got != tt.wantMedia {
				t.Errorf("median = %v, want %v", got, tt.wantMedia)
			}
		})
	}
}
