package inbox

import (
	"strconv"
	"testing"
)

// BenchmarkAccept measures one durable Accept: encode, write, fdatasync, and
// the amortised cost of compaction every 10,000 records.
func BenchmarkAccept(b *testing.B) {
	ib, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ib.Close() })
	in := newInbound("")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in.MessageID = "m" + strconv.Itoa(i)
		i++
		if _, err := ib.Accept(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAcceptDone measures a whole message's journal cost: an Accept
// and a Done, which rides with the next Accept's fdatasync.
func BenchmarkAcceptDone(b *testing.B) {
	ib, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ib.Close() })
	in := newInbound("")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in.MessageID = "m" + strconv.Itoa(i)
		i++
		if _, err := ib.Accept(in); err != nil {
			b.Fatal(err)
		}
		if err := ib.Done(in.MessageID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAcceptDuplicate measures the answer to a redelivery: no I/O.
func BenchmarkAcceptDuplicate(b *testing.B) {
	ib, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ib.Close() })
	in := newInbound("dup")
	if _, err := ib.Accept(in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if isNew, err := ib.Accept(in); err != nil || isNew {
			b.Fatal(isNew, err)
		}
	}
}

// BenchmarkAcceptAttemptDone measures a message's journal cost with its
// turn's attempt record: one fdatasync (Accept's, which also covers the
// previous message's attempt), the Done riding with the next write.
func BenchmarkAcceptAttemptDone(b *testing.B) {
	ib, err := Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ib.Close() })
	in := newInbound("")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		in.MessageID = "m" + strconv.Itoa(i)
		i++
		if _, err := ib.Accept(in); err != nil {
			b.Fatal(err)
		}
		if _, err := ib.Attempt(in.MessageID); err != nil {
			b.Fatal(err)
		}
		if err := ib.Done(in.MessageID); err != nil {
			b.Fatal(err)
		}
	}
}
