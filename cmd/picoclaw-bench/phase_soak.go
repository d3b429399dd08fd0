package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// soakSample is how often the soak reads the gateway's memory.
const soakSample = 10 * time.Second

// soakResult: a steady rate for a long time; memory should stay flat.
type soakResult struct {
	Duration  time.Duration `json:"duration_ns"`
	Rate      int           `json:"rate"`
	Pushed    int           `json:"pushed"`
	Answered  int           `json:"answered"`
	PerSecond float64       `json:"answers_per_second"`
	P99       time.Duration `json:"p99_ns"`
	Lost      int           `json:"lost"`
	Dups      int           `json:"duplicated"`
	Wrong     int           `json:"wrong"`
	AcksLost  int           `json:"acks_lost"`
	RSSFirst  int64         `json:"rss_first"`
	RSSLast   int64         `json:"rss_last"`
	RSSMax    int64         `json:"rss_max"`
	MemErr    string        `json:"mem_error,omitempty"`
	// From the gateway's /health: a leak shows as a rising count.
	Goroutines [3]int   `json:"goroutines_first_last_max"`
	Heap       [3]int64 `json:"heap_live_first_last_max"`
	// Samples, one per soakSample, show whether memory levels off.
	Samples []memSample `json:"samples"`
}

// memSample is the gateway's memory at one moment of the soak.
type memSample struct {
	At         time.Duration `json:"at_ns"`
	RSS        int64         `json:"rss"`
	Goroutines int           `json:"goroutines"`
	Heap       int64         `json:"heap_live"`
}

// measureSoak pushes rate messages a second, round-robin over senders
// chats and without waiting for acks, for d; it samples RSS every
// soakSample and then waits for the last answers.
func (h *harness) measureSoak(ctx context.Context, g *gateway, d time.Duration, rate, senders int, p *progress) (soakResult, error) {
	r := soakResult{Duration: d, Rate: rate}
	pctx, cancel := phaseContext(ctx, g, 0)
	defer cancel()
	t := newTracker(h.dt, "s", 0) // expected once the pushing ends
	t.start(pctx, h.opts.cards)

	begin := time.Now()
	sample := func() {
		m, err := readMem(g.pid())
		if err != nil {
			r.MemErr = err.Error()
			return
		}
		if r.RSSFirst == 0 {
			r.RSSFirst = m.RSS
		}
		r.RSSLast, r.RSSMax = m.RSS, max(r.RSSMax, m.RSS)
		ms := memSample{At: time.Since(begin).Round(time.Second), RSS: m.RSS}
		defer func() { r.Samples = append(r.Samples, ms) }()
		if st, err := g.health(pctx); err == nil {
			ms.Goroutines, ms.Heap = st.Goroutines, st.Heap
			if r.Goroutines[0] == 0 {
				r.Goroutines[0], r.Heap[0] = st.Goroutines, st.Heap
			}
			r.Goroutines[1], r.Heap[1] = st.Goroutines, st.Heap
			r.Goroutines[2], r.Heap[2] = max(r.Goroutines[2], st.Goroutines), max(r.Heap[2], st.Heap)
		}
	}
	sample()
	start := time.Now()
	push := time.NewTicker(time.Second / time.Duration(rate))
	defer push.Stop()
	mem := time.NewTicker(soakSample)
	defer mem.Stop()
	for i := 0; time.Since(start) < d; {
		select {
		case <-pctx.Done():
			return r, context.Cause(pctx)
		case <-mem.C:
			sample()
		case <-push.C:
			if _, err := t.push(i, fmt.Sprintf("bench-s-%04d", i%senders)); err != nil {
				return r, err
			}
			i++
			p.update("%s/%s, %d pushed, %d answered…", time.Since(start).Round(time.Second), d, i, t.progress())
		}
	}
	r.Pushed = t.outcome().pushed
	t.expect(r.Pushed)
	wctx, wcancel := context.WithTimeout(pctx, h.opts.timeout)
	defer wcancel()
	_ = t.wait(wctx) // a timeout leaves answers lost, counted below
	if err := interrupted(ctx, g); err != nil {
		return r, err
	}
	sample()
	cancel()
	o := t.outcome()
	if el := o.lastReply.Sub(o.firstPush); el > 0 {
		r.PerSecond = float64(o.answered) / el.Seconds()
	}
	r.P99 = percentile(o.latencies, 99)
	r.Answered, r.Lost, r.Dups, r.Wrong, r.AcksLost = o.answered, o.lost, o.dups, o.wrong, t.acksMissing()
	return r, nil
}

type healthStats struct {
	Goroutines int   `json:"goroutines"`
	Heap       int64 `json:"heap_live_bytes"`
}

// health reads the gateway's goroutine count and heap from /health
// (picoclaw's own; another gateway's may lack them).
func (g *gateway) health(ctx context.Context) (healthStats, error) {
	var st healthStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/health", g.sub.port), nil)
	if err != nil {
		return st, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return st, fmt.Errorf("bench: read /health: %w", err)
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}
