package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/internal/natstest"
	"picoclaw/provider/providertest"
)

// BenchmarkNATSGateways is the several-gateways bench: 1, 2 and 3
// gateway processes share one bot through a three-node NATS cluster
// (replicas 3); 2,000 messages from 200 chats are pushed as fast as
// DingTalk's sockets take them, the model answers at once, and the
// figure is answers/s from the first push to the last reply. Run it with
//
//	go test -run '^$' -bench NATSGateways -benchtime 1x ./cmd/picoclaw
//
// On one machine the gateways share its cores: the figure shows what
// NATS costs per answer, not how far several machines scale.
func BenchmarkNATSGateways(b *testing.B) {
	bin := buildGateway(b)
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("gateways=%d", n), func(b *testing.B) {
			for b.Loop() {
				b.ReportMetric(natsThroughput(b, bin, n, 2000, 200), "answers/s")
			}
		})
	}
}

func natsThroughput(b *testing.B, bin string, gateways, messages, chats int) float64 {
	cluster := natstest.StartProcesses(b, 3)
	dt := dingtalktest.NewServer()
	defer dt.Close()
	dt.SetPushPolicy(dingtalktest.PushRandom)
	llm := providertest.NewOpenAI()
	defer llm.Close()
	llm.SetRecording(false)
	llm.SetHandler(func(providertest.RecordedRequest) providertest.Reply { return providertest.Reply{Content: "ok"} })
	var gws []*natsGateway
	for i := range gateways {
		g := newNATSGateway(b, fmt.Sprintf("g%d", i+1), dt, llm, natsGroupOptions{natsURL: cluster.URL(), replicas: 3, lease: 10})
		g.start(b, bin)
		gws = append(gws, g)
	}
	waitLive(b, dt, gateways)
	// Every gateway must hold its share of the partitions before the
	// clock starts, or the first gateway would take them all.
	time.Sleep(3 * time.Second)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < messages; i += 4 {
				m := dingtalktest.BotMessage{SenderStaffID: fmt.Sprintf("%016d", 1000+i%chats), Text: chatText(i%chats, i/chats)}
				if _, err := dt.PushBotMessage(m); err != nil {
					b.Errorf("push: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(2 * time.Minute)
	for dt.ReplyCount() < messages {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d answered after 2 minutes", dt.ReplyCount(), messages)
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	for _, g := range gws {
		g.stop(b)
	}
	return float64(messages) / elapsed.Seconds()
}
