package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets. Sizes are decimal megabytes (10⁶ bytes).
const (
	mb               = 1_000_000
	targetBinary     = 20 * mb
	targetStart      = 30 * time.Millisecond
	targetIdleRSS    = 10 * mb
	targetIdleAnon   = 3 * mb
	targetSlack      = 500 * time.Millisecond // concurrency: D plus this
	targetPerSecond  = 1000
	targetP99        = 20 * time.Millisecond
	targetCPUAnswer  = time.Millisecond // gateway CPU per answer in the throughput phase
	targetPeakRSS    = 40 * mb
	targetSoakShare  = 0.95 // soak: answers/s at least this share of --rate
	statusPass       = "pass"
	statusFail       = "FAIL"
	statusInfo       = "—"
	statusNoFigure   = "n/a"
	durationMsCutoff = time.Second
)

// row is one line of the report.
type row struct {
	Figure string `json:"figure"`
	Value  string `json:"value"`
	Target string `json:"target"`
	Status string `json:"status"` // pass, FAIL, — (no target) or n/a (not measured)
	// Num is the figure as a number (bytes, seconds, answers/s) where it
	// is one, for the ratio of --compare; 0 otherwise.
	Num float64 `json:"num,omitempty"`
}

// mk is a row without a number.
func mk(figure, value, target, status string) row {
	return row{Figure: figure, Value: value, Target: target, Status: status}
}

// num sets the row's number.
func num(r row, n float64) row {
	r.Num = n
	return r
}

func check(ok bool) string {
	if ok {
		return statusPass
	}
	return statusFail
}

// rows turns the results into report lines with their targets.
func (r *results) rows(o options) []row {
	c, t := r.Concurrency, r.Throughput
	out := []row{
		num(mk("binary size", fmt.Sprintf("%s (%d bytes)", fmtMB(r.BinaryBytes), r.BinaryBytes), "≤ "+fmtMB(targetBinary), check(r.BinaryBytes <= targetBinary)), float64(r.BinaryBytes)),
		num(mk(fmt.Sprintf("start → connected (median of %d)", len(r.Start.Starts)), fmtDur(r.Start.Median), "≤ "+fmtDur(targetStart), check(r.Start.Median <= targetStart)), r.Start.Median.Seconds()),
	}
	if r.Start.CPUMedian > 0 {
		out = append(out, num(mk("start CPU to connected (all threads, median)", fmtDur(r.Start.CPUMedian), "", statusInfo), r.Start.CPUMedian.Seconds()))
	}
	out = append(out, idleRows(r.Idle, o.idle)...)
	slowest := c.Delay + targetSlack
	out = append(out,
		num(mk(fmt.Sprintf("concurrency N=%d D=%s", c.Chats, c.Delay), fmt.Sprintf("%s (%d/%d answered)", fmtDur(c.Elapsed), c.Answered, c.Chats),
			"≤ "+fmtDur(slowest)+", all answered", check(c.Elapsed <= slowest && c.Answered == c.Chats)), c.Elapsed.Seconds()),
		mk("concurrency lost / duplicated / wrong / acks lost", fmt.Sprintf("%d / %d / %d / %d", c.Lost, c.Dups, c.Wrong, c.AcksLost), "0 / 0 / 0 / 0",
			check(c.Lost+c.Dups+c.Wrong+c.AcksLost == 0)),
		num(mk(fmt.Sprintf("throughput (%d msgs, %d chats)", t.Messages, t.Senders), fmt.Sprintf("%.0f answers/s (%d in %s)", t.PerSecond, t.Answered, fmtDur(t.Elapsed)),
			fmt.Sprintf("≥ %d answers/s", targetPerSecond), check(t.PerSecond >= targetPerSecond)), t.PerSecond),
		num(mk("latency p50 (push → reply)", fmtDur(t.P50), "", statusInfo), t.P50.Seconds()),
		num(mk("latency p99 (push → reply)", fmtDur(t.P99), "≤ "+fmtDur(targetP99), check(t.Answered > 0 && t.P99 <= targetP99)), t.P99.Seconds()),
		mk("latency max", fmtDur(t.Max), "", statusInfo),
		mk("ack round trip p50 / p99 (one frame in flight)", fmtDur(t.AckP50)+" / "+fmtDur(t.AckP99), "", statusInfo),
	)
	out = append(out, cpuRows(t)...)
	if o.cards {
		out = append(out, cardRows(t)...)
	}
	out = append(out, memRows("RSS peak (VmHWM after throughput)", t.Peak.Peak, t.MemErr, targetPeakRSS)...)
	out = append(out,
		mk("acks lost (none within 5 s)", fmt.Sprint(t.AcksLost), "0", check(t.AcksLost == 0)),
		mk("answers lost", fmt.Sprintf("%d (after --timeout %s)", t.Lost, o.timeout), "0", check(t.Lost == 0)),
		mk("answers duplicated", fmt.Sprint(t.Dups), "0", check(t.Dups == 0)),
		mk("replies not matching their message", fmt.Sprint(t.Wrong), "0", check(t.Wrong == 0)),
	)
	if s := r.Soak; s != nil {
		out = append(out, soakRows(*s)...)
	}
	return out
}

func soakRows(s soakResult) []row {
	want := float64(s.Rate) * targetSoakShare
	rows := []row{
		mk(fmt.Sprintf("soak %s at %d/s", s.Duration, s.Rate), fmt.Sprintf("%.1f answers/s (%d/%d answered)", s.PerSecond, s.Answered, s.Pushed),
			fmt.Sprintf("≥ %.1f answers/s", want), check(s.PerSecond >= want)),
		mk("soak latency p99", fmtDur(s.P99), "≤ "+fmtDur(targetP99), check(s.Answered > 0 && s.P99 <= targetP99)),
		mk("soak lost / duplicated / wrong / acks lost", fmt.Sprintf("%d / %d / %d / %d", s.Lost, s.Dups, s.Wrong, s.AcksLost), "0 / 0 / 0 / 0",
			check(s.Lost+s.Dups+s.Wrong+s.AcksLost == 0)),
	}
	if len(s.Samples) > 1 {
		// One figure a minute is enough to see whether memory levels off.
		var rss, heap []string
		step := max(1, int(time.Minute/soakSample))
		for i := 0; i < len(s.Samples); i += step {
			rss = append(rss, fmt.Sprintf("%.1f", float64(s.Samples[i].RSS)/mb))
			heap = append(heap, fmt.Sprintf("%.1f", float64(s.Samples[i].Heap)/mb))
		}
		rows = append(rows,
			mk("soak RSS each minute (MB)", strings.Join(rss, " "), "levels off", statusNoFigure),
			mk("soak live heap each minute (MB)", strings.Join(heap, " "), "levels off", statusNoFigure))
	}
	if s.Goroutines[0] > 0 {
		rows = append(rows,
			mk("soak goroutines first / last / max", fmt.Sprintf("%d / %d / %d", s.Goroutines[0], s.Goroutines[1], s.Goroutines[2]), "flat", statusNoFigure),
			mk("soak heap first / last / max", fmt.Sprintf("%s / %s / %s", fmtMB(s.Heap[0]), fmtMB(s.Heap[1]), fmtMB(s.Heap[2])), "flat", statusNoFigure))
	}
	if s.MemErr != "" {
		return append(rows, mk("soak RSS first / last / max", s.MemErr, "", statusNoFigure))
	}
	return append(rows, mk("soak RSS first / last / max", fmt.Sprintf("%s / %s / %s", fmtMB(s.RSSFirst), fmtMB(s.RSSLast), fmtMB(s.RSSMax)),
		"max ≤ "+fmtMB(targetPeakRSS), check(s.RSSMax <= targetPeakRSS)))
}

// idleRows are the idle memory figures side by side: VmRSS (all
// resident pages, the binary's own code included), RssAnon (heap and
// stacks: what only this process holds) and PSS (shared pages by share).
func idleRows(id idleResult, d time.Duration) []row {
	m := id.Mem
	out := memRows(fmt.Sprintf("idle VmRSS (after %s)", d), m.RSS, id.Err, targetIdleRSS)
	if id.Err != "" {
		return out
	}
	if m.Anon+m.File > 0 {
		out = append(out, memRows("idle RssAnon (heap, stacks)", m.Anon, "", targetIdleAnon)...)
		split := fmtMB(m.File)
		if m.Shmem > 0 {
			split += fmt.Sprintf(" (+ %s shmem: binary on tmpfs?)", fmtMB(m.Shmem))
		}
		out = append(out, num(mk("idle RssFile (binary and files mapped)", split, "", statusInfo), float64(m.File)))
	}
	if m.PSS > 0 {
		out = append(out, num(mk("idle PSS", fmtMB(m.PSS), "", statusInfo), float64(m.PSS)))
	}
	out = append(out, num(mk("idle peak (VmHWM)", fmtMB(m.Peak), "", statusInfo), float64(m.Peak)))
	if id.CPU > 0 {
		out = append(out, num(mk("CPU exec → idle end: gateway + child processes", fmt.Sprintf("%s (%s + %s)",
			fmtDur(id.CPU+id.ChildCPU), fmtDur(id.CPU), fmtDur(id.ChildCPU)), "", statusInfo), (id.CPU+id.ChildCPU).Seconds()))
	}
	return out
}

// cpuRows are the gateway's CPU per answer, against its target, and
// which side of the throughput run used the CPU: the fakes share the
// gateway's cores.
func cpuRows(t throughputResult) []row {
	const perFigure, split = "gateway CPU per answer (throughput)", "CPU in throughput: gateway / bench+fakes"
	if t.CPUErr != "" {
		return []row{mk(perFigure, t.CPUErr, "≤ "+fmtMs(targetCPUAnswer), statusNoFigure), mk(split, t.CPUErr, "", statusNoFigure)}
	}
	if t.Answered == 0 {
		return []row{mk(perFigure, "no answers", "≤ "+fmtMs(targetCPUAnswer), statusFail),
			mk(split, fmtDur(t.GatewayCPU)+" / "+fmtDur(t.BenchCPU), "", statusInfo)}
	}
	per := t.GatewayCPU / time.Duration(t.Answered)
	return []row{
		num(mk(perFigure, fmtMs(per), "≤ "+fmtMs(targetCPUAnswer), check(per <= targetCPUAnswer)), per.Seconds()),
		mk(split, fmt.Sprintf("%s / %s (bench+fakes %s per answer)", fmtDur(t.GatewayCPU), fmtDur(t.BenchCPU),
			fmtMs(t.BenchCPU/time.Duration(t.Answered))), "", statusInfo),
	}
}

// cardRows are the AI card calls per answer of the throughput phase
// (--cards): what each answer costs of DingTalk's API quota.
func cardRows(t throughputResult) []row {
	const calls, updates = "card API calls per answer (throughput)", "card streaming updates per answer"
	if t.Answered == 0 {
		return []row{mk(calls, "no answers", "", statusNoFigure), mk(updates, "no answers", "", statusNoFigure)}
	}
	n := float64(t.Answered)
	c, u := float64(t.CardCreates)/n, float64(t.CardUpdates)/n
	return []row{
		num(mk(calls, fmt.Sprintf("%.2f (createAndDeliver %.2f + streaming %.2f)", c+u, c, u), "", statusInfo), c+u),
		num(mk(updates, fmt.Sprintf("%.2f", u), "", statusInfo), u),
	}
}

// fmtMs is a duration in milliseconds with two decimals, for figures
// around a millisecond.
func fmtMs(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// memRows is the row of one memory figure; target 0 means none.
func memRows(figure string, bytes int64, errText string, target int64) []row {
	if errText != "" {
		return []row{mk(figure, errText, "", statusNoFigure)}
	}
	if target == 0 {
		return []row{num(mk(figure, fmtMB(bytes), "", statusInfo), float64(bytes))}
	}
	return []row{num(mk(figure, fmtMB(bytes), "≤ "+fmtMB(target), check(bytes <= target)), float64(bytes))}
}

func fmtMB(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/mb) }

func fmtDur(d time.Duration) string {
	if d >= durationMsCutoff {
		return fmt.Sprintf("%.3f s", d.Seconds())
	}
	if d < time.Millisecond {
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// writeTable prints the rows aligned, with a summary line.
func writeTable(w io.Writer, rows []row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\ttarget\tresult")
	fmt.Fprintln(tw, "------\t-----\t------\t------")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Figure, r.Value, r.Target, r.Status)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	return writeSummary(w, rows)
}

// writeSummary says how many targets were missed.
func writeSummary(w io.Writer, rows []row) error {
	failed := 0
	for _, r := range rows {
		if r.Status == statusFail {
			failed++
		}
	}
	if failed == 0 {
		_, err := fmt.Fprintln(w, "\nall targets met")
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d target(s) missed\n", failed)
	return err
}

// gatewayJSON is one gateway's raw results and report rows.
type gatewayJSON struct {
	Results *results `json:"results"`
	Rows    []row    `json:"rows"`
}

// writeJSON prints picoclaw's raw results and rows, and under "compare"
// those of the --compare binary.
func writeJSON(w io.Writer, all []*results, o options) error {
	out := struct {
		gatewayJSON
		Compare *gatewayJSON `json:"compare,omitempty"`
	}{gatewayJSON: gatewayJSON{all[0], all[0].rows(o)}}
	if len(all) > 1 {
		out.Compare = &gatewayJSON{all[1], all[1].rows(o)}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("bench: write JSON: %w", err)
	}
	return nil
}
