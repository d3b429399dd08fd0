package natsstore

import (
	"testing"

	"picoclaw/internal/natstest"
)

// BenchmarkQueueAcceptToDone measures one message's way through the
// shared inbox on a local single node: Accept (publish, PubAck), delivery
// to the partition's owner, the done check, Attempt, Done (P_done put and
// ack). It reports accepted messages answered per second.
func BenchmarkQueueAcceptToDone(b *testing.B) {
	srv := natstest.Start(b)
	g := startGateway(b, srv.URL(), testQueueConfig("bench"), true)
	waitFor(b, "all partitions claimed", func() bool { return ownedAll(8, g) })
	b.ResetTimer()
	for i := range b.N {
		in := chatMessage(i%64, i)
		if _, err := g.q.Accept(in); err != nil {
			b.Fatal(err)
		}
	}
	waitFor(b, "every message answered", func() bool { return inboxMsgs(b, g) == 0 && g.q.Stats().InFlight == 0 })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
