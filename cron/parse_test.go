package cron

import (
	"strings"
	"testing"
	"time"
)

func TestParseAt(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "2026-12-01T09:00:00+08:00", want: time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)},
		{in: "in 10 minutes", want: t0.Add(10 * time.Minute)},
		{in: "In 2 hours and 30 min", want: t0.Add(150 * time.Minute)},
		{in: "1h30m", want: t0.Add(90 * time.Minute)},
		{in: "in 1 day", want: t0.Add(24 * time.Hour)},
		{in: "in 10min", want: t0.Add(10 * time.Minute)},
		{in: "2026-12-01T09:00:00", err: true}, // no offset: ambiguous
		{in: "tomorrow", err: true},
		{in: "in 10", err: true},
		{in: "10 ms", err: true},
		{in: "-5m", err: true},
		{in: "", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAt(tt.in, t0)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), "RFC3339") {
					t.Fatalf("ParseAt = %v, %v; want an error giving the expected format", got, err)
				}
				return
			}
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("ParseAt = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestParseEvery(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{in: "10m", want: 600},
		{in: "every 10 minutes", want: 600},
		{in: "every hour", want: 3600},
		{in: "2 hours", want: 7200},
		{in: "90s", want: 90},
		{in: "1.5s", err: true},
		{in: "often", err: true},
		{in: "0s", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseEvery(tt.in)
			if tt.err != (err != nil) || got != tt.want {
				t.Fatalf("ParseEvery = %d, %v; want %d (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestScheduleString(t *testing.T) {
	tests := []struct {
		secs int64
		want string
	}{
		{86400, "every 24h"}, {600, "every 10m"}, {90, "every 1m30s"}, {5400, "every 1h30m"}, {45, "every 45s"}, {3601, "every 1h0m1s"},
	}
	for _, tt := range tests {
		if got := (Schedule{Kind: KindEvery, EverySeconds: tt.secs}).String(); got != tt.want {
			t.Errorf("String(%d s) = %q, want %q", tt.secs, got, tt.want)
		}
	}
}
