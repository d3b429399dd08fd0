package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
)

// results are every figure of one gateway in one run.
type results struct {
	Name        string            `json:"name"`
	GoVersion   string            `json:"go_version"`
	Platform    string            `json:"platform"`
	CPUs        int               `json:"cpus"`
	TLS         bool              `json:"tls"`
	BinaryBytes int64             `json:"binary_bytes"`
	Start       startResult       `json:"start"`
	Idle        idleResult        `json:"idle"`
	Concurrency concurrencyResult `json:"concurrency"`
	Throughput  throughputResult  `json:"throughput"`
	Soak        *soakResult       `json:"soak,omitempty"`
}

// perChatLimit is DingTalk's per-chat send limit (about 20 a minute),
// which the gateway's limiter follows.
const perChatLimit = 20

// bench runs every phase against one harness: the starts of every
// gateway interleaved, then the other phases one gateway after the other
// (they share the fake DingTalk, which pushes to the newest socket).
// It returns picoclaw's results, then the compared binary's if any.
func bench(ctx context.Context, opts options, p *progress) (all []*results, err error) {
	h, err := newHarness(opts)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	var failed *subject
	defer func() {
		p.done()
		if err != nil && ctx.Err() == nil && failed != nil {
			p.note("last lines of the %s log (%s):\n%s", failed.name, failed.logPath, logTail(failed.logPath, 20))
		}
	}()
	subs := h.subjects()
	for _, s := range subs {
		all = append(all, &results{Name: s.name, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
			CPUs: runtime.NumCPU(), TLS: !opts.plain})
	}
	perGateway := 3
	if opts.soak > 0 {
		perGateway = 4
	}
	p.total = 2 + perGateway*len(subs)
	warnRateLimit(opts, p)
	p.start(1, "build")
	if all[0].BinaryBytes, err = h.build(ctx); err != nil {
		return nil, err
	}
	if h.other != nil {
		if all[1].BinaryBytes, err = binarySize(h.other.binary); err != nil {
			return nil, err
		}
	}
	p.start(2, "start→connected")
	starts, failed, err := h.measureStarts(ctx, subs, opts.starts, p)
	if err != nil {
		return nil, err
	}
	step := 3
	for i, s := range subs {
		all[i].Start = starts[i]
		if err := h.runPhases(ctx, s, all[i], &step, p); err != nil {
			failed = s
			return nil, err
		}
	}
	return all, nil
}

// runPhases starts one gateway and runs idle, concurrency, throughput and
// soak against it, then stops it.
func (h *harness) runPhases(ctx context.Context, s *subject, res *results, step *int, p *progress) (err error) {
	opts := h.opts
	next := func(name string) {
		p.start(*step, s.name+": "+name)
		*step++
	}
	g, _, err := h.start(ctx, s)
	if err != nil {
		return err
	}
	defer func() {
		if serr := g.stop(); serr != nil && err == nil {
			p.note("%v (figures kept)", serr)
		}
	}()
	next("idle")
	if res.Idle, err = measureIdle(ctx, g, opts.idle, p); err != nil {
		return err
	}
	next(fmt.Sprintf("concurrency (%d chats, model %s)", opts.chats, opts.delay))
	if res.Concurrency, err = h.measureConcurrency(ctx, g, opts.chats, opts.delay, p); err != nil {
		return err
	}
	next(fmt.Sprintf("throughput (%d messages, %d chats)", opts.messages, opts.senders))
	if res.Throughput, err = h.measureThroughput(ctx, g, opts.messages, opts.senders, p); err != nil {
		return err
	}
	if opts.soak > 0 {
		next(fmt.Sprintf("soak (%d/s for %s)", opts.rate, opts.soak))
		s, err := h.measureSoak(ctx, g, opts.soak, opts.rate, opts.senders, p)
		if err != nil {
			return err
		}
		res.Soak = &s
	}
	return nil
}

// warnRateLimit says when a phase sends more to one chat than DingTalk's
// per-chat limit allows, so lost or late answers are not misread.
func warnRateLimit(opts options, p *progress) {
	if per := (opts.messages + opts.senders - 1) / opts.senders; per > perChatLimit {
		p.note("throughput sends %d messages to each chat; the gateway's per-chat limit (~%d/min) may hold answers back; raise --senders",
			per, perChatLimit)
	}
	if opts.soak > 0 && opts.rate*60 > perChatLimit*opts.senders {
		p.note("soak sends %.1f messages a minute to each chat, over the ~%d/min per-chat limit; raise --senders",
			float64(opts.rate*60)/float64(opts.senders), perChatLimit)
	}
}

// logTail returns the last n lines of the file at path.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	return string(bytes.Join(lines[max(0, len(lines)-n):], []byte("\n")))
}
