package providertest

import (
	"time"

	"picoclaw"
)

// Reply scripts one answer of a fake server. The zero Reply is an empty
// text answer.
type Reply struct {
	Content   string
	Reasoning string // sent as DeepSeek's reasoning_content
	ToolCalls []picoclaw.ToolCall

	// Delay waits before the first byte; a request whose context ends
	// meanwhile gets nothing.
	Delay time.Duration
	// Status and Body make an error answer: the HTTP status (>= 400) and
	// the raw body, e.g. one of the OpenAI* error bodies.
	Status int
	Body   string
	Header map[string]string // set on the answer, e.g. Retry-After

	// ChunkSize is the number of runes per content, reasoning or argument
	// delta; 0 → 8.
	ChunkSize int
	// InterleaveToolCalls sends argument fragments of parallel calls in
	// turn (as some servers do) rather than one call after the other (as
	// OpenAI does).
	InterleaveToolCalls bool
	// Pace, if set, holds each content delta after the first of a
	// streamed answer until a receive from it succeeds (or the client
	// goes away), so a test sees the answer arrive piece by piece.
	Pace <-chan struct{}
	// CutStream drops the connection after about half of the content.
	CutStream bool
	// Repeat, if > 1, streams Content that many times in a row, as one
	// answer (a runaway model), without building it in memory: a 1 KiB
	// Content with Repeat 20480 is a 20 MiB answer. The stream stops
	// early when the client goes away.
	Repeat int
	// Malformed sends a data line that is not JSON after the first
	// content delta.
	Malformed bool
	// Raw, if set, is written as the body byte for byte with
	// Content-Type text/event-stream (see OpenAI.ServeFixture).
	Raw []byte
}

func (r Reply) chunkSize() int {
	if r.ChunkSize > 0 {
		return r.ChunkSize
	}
	return 8
}

// split cuts s into pieces of n runes.
func split(s string, n int) []string {
	var out []string
	rs := []rune(s)
	for len(rs) > 0 {
		k := min(n, len(rs))
		out = append(out, string(rs[:k]))
		rs = rs[k:]
	}
	return out
}
