package stream

import (
	"os"
	"path/filepath"
	"testing"
)

// benchFixture reads a fixture file for a benchmark.
func benchFixture(b *testing.B, path ...string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(path...))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkFrameDecodeAck is the reader's work per bot message frame
// before the handler: decode the frame, encode its ack.
func BenchmarkFrameDecodeAck(b *testing.B) {
	raw := benchFixture(b, "..", "dingtalktest", "testdata", "stream-callback-frame.json")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := decodeFrame(raw)
		if err != nil {
			b.Fatal(err)
		}
		if ack := encodeAck(f.MessageID(), AckOK, ackDataCallback); len(ack) == 0 {
			b.Fatal("empty ack")
		}
	}
}
