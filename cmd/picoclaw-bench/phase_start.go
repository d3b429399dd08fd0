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
	// CPU is the gateway's CPU time (all threads, user and system) from
	// exec to connected: unlike the wall time it does not grow when
	// other work shares the machine. Empty where it cannot be read.
	CPU       []time.Duration `json:"cpu_ns,omitempty"`
	CPUMedian time.Duration   `json:"cpu_median_ns,omitempty"`
}

// measureStarts starts each gateway n times, each a fresh process,
// taking turns (a, b, a, b…) so that both see the same machine, and
// times exec → stream connected. Every process is stopped again; on
// failure it returns the gateway that failed.
func (h *harness) measureStarts(ctx context.Context, subs []*subject, n int, p *progress) ([]startResult, *subject, error) {
	r := make([]startResult, len(subs))
	for i := 1; i <= n; i++ {
		for j, s := range subs {
			p.update("start %d/%d of %s…", i, n, s.name)
			g, d, err := h.start(ctx, s)
			if err != nil {
				return nil, s, err
			}
			r[j].Starts = append(r[j].Starts, d)
			if cpu, err := threadsCPU(g.pid()); err == nil {
				r[j].CPU = append(r[j].CPU, cpu)
			}
			if err := g.stop(); err != nil {
				return nil, s, fmt.Errorf("bench: stop %s after start %d: %w", s.name, i, err)
			}
		}
	}
	for j := range r {
		r[j].Median = median(r[j].Starts)
		if len(r[j].CPU) > 0 {
			r[j].CPUMedian = median(r[j].CPU)
		}
	}
	return r, nil, nil
}

// idleResult is the gateway's memory after it sat connected and idle.
type idleResult struct {
	Mem memInfo `json:"mem"`
	Err string  `json:"error,omitempty"`
	// CPU is what the gateway's threads used from exec to the end of
	// the idle time, ChildCPU what its child processes used (such as
	// the exec sandbox's trial run, which may end after the stream
	// connected): start-up's whole cost, wherever it ran. 0 where it
	// cannot be read.
	CPU      time.Duration `json:"cpu_ns,omitempty"`
	ChildCPU time.Duration `json:"child_cpu_ns,omitempty"`
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
	r := idleResult{Mem: m}
	if cpu, err := threadsCPU(g.pid()); err == nil {
		r.CPU = cpu
		r.ChildCPU, _ = childrenCPU(g.pid())
	}
	return r, nil
}
