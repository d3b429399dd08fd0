package session

import (
	"context"
	"strings"
	"testing"

	"picoclaw"
)

func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	s := mustOpen(b, b.TempDir(), nil)
	key := picoclaw.SessionKey("dingtalk:group:cidAbC+/x==")
	msg := picoclaw.Message{Role: picoclaw.RoleUser, Content: strings.Repeat("hello ", 40), Time: t0}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Append(ctx, key, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad500(b *testing.B) {
	ctx := context.Background()
	s := mustOpen(b, b.TempDir(), nil)
	key := picoclaw.SessionKey("dingtalk:group:cidAbC+/x==")
	msgs := make([]picoclaw.Message, 500)
	for i := range msgs {
		msgs[i] = picoclaw.Message{Role: picoclaw.RoleUser, Content: strings.Repeat("hello ", 40), Time: t0}
		if i%2 == 1 {
			msgs[i].Role = picoclaw.RoleAssistant
			msgs[i].Reasoning = strings.Repeat("think ", 20)
		}
	}
	if err := s.Append(ctx, key, msgs...); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := s.Load(ctx, key)
		if err != nil || len(got) != 500 {
			b.Fatalf("Load = %d messages, %v", len(got), err)
		}
	}
}
