package main

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// trimInterval is how often a connected gateway gives back memory it is
// not using. A trim costs about a millisecond (a GC of a small heap, a
// read of /proc/self/smaps, one madvise per mapping, then minor faults
// for the pages in use); the runtime forces a GC every 2 minutes anyway.
const trimInterval = 2 * time.Minute

// trimOnConnect returns an onConnected hook that starts the trim loop the
// first time the stream is up, that is once start-up is over. The loop
// ends with ctx.
//
// Why: package initialisation (about 400 init functions spread over the
// whole binary) and start-up touch a page in nearly every 64 KiB of the
// binary's code and read-only data, and the kernel's fault-around maps
// each 64 KiB window whole, so without this ~9 MB of the 10.8 MB binary
// stay mapped for the life of the process although an idle gateway runs
// only a small part of it.
func (e *env) trimOnConnect(ctx context.Context) func() {
	var once sync.Once
	return func() {
		once.Do(func() { go e.trimLoop(ctx) })
	}
}

// trimLoop releases the binary's mapped pages now, then every
// trimInterval returns free heap to the OS and releases them again (a
// burst of messages maps the code that handled it and grows the heap).
func (e *env) trimLoop(ctx context.Context) {
	log, err := e.logger()
	if err != nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(trimInterval)
	defer t.Stop()
	for first := true; ; first = false {
		if !first {
			debug.FreeOSMemory()
		}
		n, err := releaseFilePages()
		if err != nil {
			log.Warn("memory trim stopped", "err", err)
			return
		}
		log.Debug("memory trim: released mapped pages of read-only files", "bytes", n)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
