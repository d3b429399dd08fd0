package outbox

import (
	"context"
	"testing"

	"picoclaw"
)

// BenchmarkPut is the cost an answer pays to become durable: one encoded
// line and one fdatasync.
func BenchmarkPut(b *testing.B) {
	o, err := Open(b.TempDir(), Options{Deliver: func(context.Context, picoclaw.Outbound, int, func(int, bool)) error { return nil }})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	out := answer("alice", "an answer of a typical length, with **markdown** and a few lines\n\nof text")
	b.ReportAllocs()
	for b.Loop() {
		if err := o.Put(context.Background(), out); err != nil {
			b.Fatal(err)
		}
	}
}
