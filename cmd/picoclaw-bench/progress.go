package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress writes one status line to stderr while the bench runs: redrawn
// in place on a terminal, at most once a second otherwise (a log file).
type progress struct {
	w     io.Writer
	tty   bool
	total int

	mu    sync.Mutex
	phase string
	last  time.Time
	shown bool
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

// start begins phase i of the run.
func (p *progress) start(i int, name string) {
	p.mu.Lock()
	p.phase = fmt.Sprintf("[%d/%d] %s", i, p.total, name)
	p.last = time.Time{}
	p.mu.Unlock()
	p.update("…")
}

// update shows the current phase's state, e.g. "1200/2000 answers…".
func (p *progress) update(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if !p.tty && !p.last.IsZero() && now.Sub(p.last) < time.Second {
		return
	}
	p.last = now
	line := p.phase + ": " + fmt.Sprintf(format, args...)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.shown = true
		return
	}
	fmt.Fprintln(p.w, line)
}

// done ends the status line so that the table starts on a line of its own.
func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
		p.shown = false
	}
}

// note prints a line that stays (a warning), below the status line.
func (p *progress) note(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
	fmt.Fprintf(p.w, "picoclaw-bench: "+format+"\n", args...)
}

// ticker calls f every interval until stop is called; for phases that
// wait, so the line keeps moving.
func (p *progress) ticker(interval time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
