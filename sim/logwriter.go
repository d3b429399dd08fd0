package sim

import (
	"bytes"
	"strings"
	"sync"
)

// LogWriter returns a writer for the gateway's text log (slog's
// TextHandler): its warnings and errors, where failures and their
// recovery are told, go to the side log too.
func (s *Sim) LogWriter() *LogWriter { return &LogWriter{s: s} }

// LogWriter is an io.Writer that copies WARN and ERROR lines to the side
// log. Safe for concurrent use.
type LogWriter struct {
	s   *Sim
	mu  sync.Mutex
	buf []byte
}

// maxLogLine bounds a side-log line taken from the gateway's log.
const maxLogLine = 400

func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line without a newline
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

func (w *LogWriter) line(l string) {
	level := ""
	switch {
	case strings.Contains(l, " level=WARN "):
		level = "warn"
	case strings.Contains(l, " level=ERROR "):
		level = "error"
	default:
		return
	}
	// Drop "time=… level=…": the side log has its own time.
	if _, rest, ok := strings.Cut(l, " msg="); ok {
		l = rest
	}
	if r := []rune(l); len(r) > maxLogLine {
		l = string(r[:maxLogLine]) + "…"
	}
	w.s.hub.log(level, "gateway: "+l)
}
