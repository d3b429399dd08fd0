package main

import (
	"context"
	"fmt"
	"time"
)

// startResult holds start→connected times and idle memory.
type startResult struct {
	Starts []time.Duration `json:"starts_ns"`
	Median time.Duration   `json:"median_ns"`
}

// measureStarts starts the gateway n times, each a fresh process, and
// times exec → stream connected. It keeps the last process running and
// returns it for the next phases.
func (h *harness) measureStarts(ctx context.Context, n int, p *progress) (*gateway, startResult, error) {
	var r startResult
	for i := 1; ; i++ {
		p.update("start %d/%d…", i, n)
		g, d, err := h.start(ctx)
		if err != nil {
			return nil, r, err
		}
		r.Starts = append(r.Starts, d)
		if i == n {
			r.Median = median(r.Starts)
			return g, r, nil
		}
		if err := g.stop(); err != nil {
			return nil, r, fmt.Errorf("bench: stop after start %d: %w", i, err)
		}
	}
}

// idleResult is the gateway's memory after it sat connected and idle.
type idleResult struct {
	Mem memInfo `json:"mem"`
	Err string  `json:"error,omitempty"`
}

// measureIdle waits d with the gateway connected and idle, then reads its
// memory.
func measureIdle(ctx context.Context, g *gateway, d time.Duration, p *progress) (idleResult, error) {
	deadline := time.Now().Add(d)
	stop := p.ticker(200*time.Millisecond, func() {
		p.update("idle, %s left…", time.Until(deadline).Round(100*time.Millisecond))
	})
	defer stop()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return idleResult{}, context.Cause(ctx)
	case <-g.ctx.Done():
		return idleResult{}, context.Cause(g.ctx)
	case <-t.C:
	}
	m, err := readMem(g.pid())
	if err != nil {
		return idleResult{Err: err.Error()}, nil
	}
	return idleResult{Mem: m}, nil
}
