// Package stack sizes a goroutine's stack up front.
//
// A goroutine starts with a small stack (about the average the runtime
// saw at the last GC) and doubles it, copying the whole stack each time,
// as calls go deeper. A goroutine started per message that runs a whole
// turn (the model's HTTP client, JSON, the disk) grows from a few KiB to
// 32 KiB in three or four copies: measured at about 5% of the gateway's
// CPU in picoclaw-bench's throughput phase. Grow makes that one copy, of
// a stack that holds almost nothing yet.
package stack

// frame is the stack Grow asks for. The runtime rounds the request up to
// a power of two above what is in use, so the goroutine gets 32 KiB.
const frame = 16 << 10

// Grow grows the calling goroutine's stack to 32 KiB in one step. Call it
// first thing in a goroutine that is known to run deep; it costs nothing
// more once the stack is that large. The GC may still shrink a stack that
// stays mostly unused.
func Grow() { touch(0, frame-1) }

// touch has a frame of the size wanted; its prologue's stack check makes
// the runtime grow the stack before the body runs. noinline keeps the
// frame its own (the compiler does not remove a call it cannot see into).
//
//go:noinline
func touch(i, j int) byte {
	var b [frame]byte
	b[i] = 1
	return b[j]
}
