package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
)

// results are every figure of one run.
type results struct {
	GoVersion   string            `json:"go_version"`
	Platform    string            `json:"platform"`
	CPUs        int               `json:"cpus"`
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

// bench runs every phase in order against one harness.
func bench(ctx context.Context, opts options, p *progress) (res *results, err error) {
	h, err := newHarness(opts)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	defer func() {
		p.done()
		if err != nil && ctx.Err() == nil {
			p.note("last lines of the gateway log (%s):\n%s", h.logPath, logTail(h.logPath, 20))
		}
	}()
	res = &results{GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU()}
	p.total = 5
	if opts.soak > 0 {
		p.total = 6
	}
	warnRateLimit(opts, p)

	p.start(1, "build")
	if res.BinaryBytes, err = h.build(ctx); err != nil {
		return nil, err
	}
	p.start(2, "start→connected")
	g, sr, err := h.measureStarts(ctx, opts.starts, p)
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := g.stop(); serr != nil && err == nil {
			p.note("%v (figures kept)", serr)
		}
	}()
	res.Start = sr
	p.start(3, "idle")
	if res.Idle, err = measureIdle(ctx, g, opts.idle, p); err != nil {
		return nil, err
	}
	p.start(4, fmt.Sprintf("concurrency (%d chats, model %s)", opts.chats, opts.delay))
	if res.Concurrency, err = h.measureConcurrency(ctx, g, opts.chats, opts.delay, p); err != nil {
		return nil, err
	}
	p.start(5, fmt.Sprintf("throughput (%d messages, %d chats)", opts.messages, opts.senders))
	if res.Throughput, err = h.measureThroughput(ctx, g, opts.messages, opts.senders, p); err != nil {
		return nil, err
	}
	if opts.soak > 0 {
		p.start(6, fmt.Sprintf("soak (%d/s for %s)", opts.rate, opts.soak))
		s, err := h.measureSoak(ctx, g, opts.soak, opts.rate, opts.senders, p)
		if err != nil {
			return nil, err
		}
		res.Soak = &s
	}
	return res, nil
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
