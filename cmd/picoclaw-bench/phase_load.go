package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

// concurrencyResult: N chats ask at once, the model takes D per answer.
type concurrencyResult struct {
	Chats    int           `json:"chats"`
	Delay    time.Duration `json:"delay_ns"`
	Elapsed  time.Duration `json:"elapsed_ns"` // first push → last answer
	Answered int           `json:"answered"`
	Lost     int           `json:"lost"`
	Dups     int           `json:"duplicated"`
	Wrong    int           `json:"wrong"`
	AcksLost int           `json:"acks_lost"`
}

// measureConcurrency pushes one message from each of n private chats
// without waiting, with a model that takes delay per answer, and times
// the first push to the last answer.
func (h *harness) measureConcurrency(ctx context.Context, g *gateway, n int, delay time.Duration, p *progress) (concurrencyResult, error) {
	h.llm.SetHandler(func(req providertest.RecordedRequest) providertest.Reply {
		return providertest.Reply{Content: req.LastUser(), Delay: delay}
	})
	defer h.llm.SetHandler(nil)
	pctx, cancel := phaseContext(ctx, g, h.opts.timeout+delay)
	defer cancel()

	t := newTracker(h.dt, "c", n)
	t.start(pctx, h.opts.cards)
	stop := p.ticker(100*time.Millisecond, func() { p.update("%d/%d answers…", t.progress(), n) })
	defer stop()
	for i := range n {
		if _, err := t.push(i, fmt.Sprintf("bench-c-%04d", i)); err != nil {
			return concurrencyResult{}, err
		}
	}
	_ = t.wait(pctx) // a timeout leaves answers lost, counted below
	if err := interrupted(ctx, g); err != nil {
		return concurrencyResult{}, err
	}
	cancel()
	o := t.outcome()
	return concurrencyResult{Chats: n, Delay: delay, Elapsed: o.lastReply.Sub(o.firstPush), Answered: o.answered,
		Lost: o.lost, Dups: o.dups, Wrong: o.wrong, AcksLost: t.acksMissing()}, nil
}

// throughputResult: many messages, an instant model, one frame in flight.
type throughputResult struct {
	Messages  int           `json:"messages"`
	Senders   int           `json:"senders"`
	Elapsed   time.Duration `json:"elapsed_ns"`
	PerSecond float64       `json:"answers_per_second"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	Max       time.Duration `json:"max_ns"`
	// AckP50 and AckP99 are push → ack round trips; with one frame in
	// flight, 1/AckP50 bounds the rate.
	AckP50   time.Duration `json:"ack_p50_ns"`
	AckP99   time.Duration `json:"ack_p99_ns"`
	Peak     memInfo       `json:"mem_after"`
	MemErr   string        `json:"mem_error,omitempty"`
	Answered int           `json:"answered"`
	AcksLost int           `json:"acks_lost"`
	Lost     int           `json:"lost"`
	Dups     int           `json:"duplicated"`
	Wrong    int           `json:"wrong"`
	// CPU time used during the phase by the gateway and by this process
	// (the fakes), to tell which side bounds the figures.
	GatewayCPU time.Duration `json:"gateway_cpu_ns"`
	BenchCPU   time.Duration `json:"bench_cpu_ns"`
	CPUErr     string        `json:"cpu_error,omitempty"`
	// With --cards, the AI card calls the fake DingTalk received during
	// the phase, refused ones included (each counts against DingTalk's
	// API quota).
	CardCreates int `json:"card_creates,omitempty"`
	CardUpdates int `json:"card_updates,omitempty"`
}

// ackWait is how long a pushed frame may go unacked before it counts as
// lost.
const ackWait = 5 * time.Second

// measureThroughput pushes m messages round-robin over senders chats,
// each frame as soon as the previous one is acked, with the fake model
// echoing instantly; then waits for every answer (up to --timeout).
func (h *harness) measureThroughput(ctx context.Context, g *gateway, m, senders int, p *progress) (throughputResult, error) {
	r := throughputResult{Messages: m, Senders: senders}
	if err := resetPeak(g.pid()); err != nil {
		r.MemErr = err.Error()
	}
	pctx, cancel := phaseContext(ctx, g, 0)
	defer cancel()
	var err error
	t := newTracker(h.dt, "t", m)
	t.start(pctx, h.opts.cards)
	stop := p.ticker(100*time.Millisecond, func() { p.update("%d/%d answers…", t.progress(), m) })
	defer stop()
	cpu := startCPU(g.pid())
	cards := h.cardCalls()
	acks := make([]time.Duration, 0, m)
	for i := range m {
		s, err := t.push(i, fmt.Sprintf("bench-t-%04d", i%senders))
		if err != nil {
			return r, err
		}
		actx, acancel := context.WithTimeout(pctx, ackWait)
		_, err = h.dt.WaitAck(actx, s.messageID)
		acancel()
		if err == nil {
			acks = append(acks, time.Since(s.pushed))
		} else {
			if err := interrupted(ctx, g); err != nil {
				return r, err
			}
			r.AcksLost++
		}
	}
	wctx, wcancel := context.WithTimeout(pctx, h.opts.timeout)
	defer wcancel()
	_ = t.wait(wctx) // a timeout leaves answers lost, counted below
	if err := interrupted(ctx, g); err != nil {
		return r, err
	}
	cancel()
	r.GatewayCPU, r.BenchCPU, err = cpu()
	if err != nil {
		r.CPUErr = err.Error()
	}
	r.CardCreates, r.CardUpdates = cards()
	o := t.outcome()
	r.Elapsed = o.lastReply.Sub(o.firstPush)
	if r.Elapsed > 0 {
		r.PerSecond = float64(o.answered) / r.Elapsed.Seconds()
	}
	r.P50, r.P99, r.Max = percentile(o.latencies, 50), percentile(o.latencies, 99), percentile(o.latencies, 100)
	r.AckP50, r.AckP99 = percentile(acks, 50), percentile(acks, 99)
	r.Answered, r.Lost, r.Dups, r.Wrong = o.answered, o.lost, o.dups, o.wrong
	if r.MemErr == "" {
		if mem, err := readMem(g.pid()); err != nil {
			r.MemErr = err.Error()
		} else {
			r.Peak = mem
		}
	}
	return r, nil
}

// phaseContext ends when ctx ends, when the gateway exits, or after limit
// (0: no limit), with the gateway's exit as the cause when it is one.
func phaseContext(ctx context.Context, g *gateway, limit time.Duration) (context.Context, context.CancelFunc) {
	cctx, cancelCause := context.WithCancelCause(ctx)
	stopAfter := context.AfterFunc(g.ctx, func() { cancelCause(context.Cause(g.ctx)) })
	if limit <= 0 {
		return cctx, func() { stopAfter(); cancelCause(context.Canceled) }
	}
	tctx, tcancel := context.WithTimeout(cctx, limit)
	return tctx, func() { tcancel(); stopAfter(); cancelCause(context.Canceled) }
}

// interrupted says why a phase must stop early: the bench was interrupted
// (ctx) or the gateway exited. nil means the phase may report what it has.
func interrupted(ctx context.Context, g *gateway) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if g.ctx.Err() != nil {
		return context.Cause(g.ctx)
	}
	return nil
}

// cardCalls notes the AI card calls so far (none without --cards); the
// returned function gives the createAndDeliver and streaming calls since.
func (h *harness) cardCalls() func() (creates, updates int) {
	if !h.opts.cards {
		return func() (int, int) { return 0, 0 }
	}
	c0, u0 := h.dt.OpenAPICount(dingtalktest.CardCreatePath), h.dt.OpenAPICount(dingtalktest.CardStreamingPath)
	return func() (int, int) {
		return h.dt.OpenAPICount(dingtalktest.CardCreatePath) - c0, h.dt.OpenAPICount(dingtalktest.CardStreamingPath) - u0
	}
}

// startCPU notes the CPU time used so far by the gateway and by this
// process; the returned function gives what each used since.
func startCPU(pid int) func() (gateway, bench time.Duration, err error) {
	g0, gerr := processCPU(pid)
	b0, berr := selfCPU()
	return func() (time.Duration, time.Duration, error) {
		if gerr != nil || berr != nil {
			return 0, 0, errors.Join(gerr, berr)
		}
		g1, gerr := processCPU(pid)
		b1, berr := selfCPU()
		if gerr != nil || berr != nil {
			return 0, 0, errors.Join(gerr, berr)
		}
		return g1 - g0, b1 - b0, nil
	}
}
