package picoclaw

import (
	"context"
	"errors"
	"testing"
)

type originKey struct{}

func TestSendScope(t *testing.T) {
	alice := Peer{Kind: ChatDirect, ID: "alice"}
	stranger := Peer{Kind: ChatDirect, ID: "stranger"}
	group := Peer{Kind: ChatGroup, ID: "cidG=="}
	origin := func(ctx context.Context) (string, Peer, bool) {
		p, ok := ctx.Value(originKey{}).(Peer)
		return "dingtalk", p, ok
	}
	inAlice := context.WithValue(context.Background(), originKey{}, alice)
	tests := []struct {
		name    string
		scope   SendScope
		ctx     context.Context
		channel string
		to      Peer
		ok      bool
	}{
		{"own chat", SendScope{Origin: origin}, inAlice, "dingtalk", alice, true},
		{"stranger", SendScope{Origin: origin}, inAlice, "dingtalk", stranger, false},
		{"same id other kind", SendScope{Origin: origin}, inAlice, "dingtalk", Peer{Kind: ChatGroup, ID: "alice"}, false},
		{"same chat other channel", SendScope{Origin: origin}, inAlice, "other", alice, false},
		{"no origin", SendScope{Origin: origin}, context.Background(), "dingtalk", alice, false},
		{"zero scope", SendScope{}, inAlice, "dingtalk", alice, false},
		{"listed by key", SendScope{Origin: origin, AllowTo: []string{"dingtalk:group:cidG=="}}, inAlice, "dingtalk", group, true},
		{"listed by id", SendScope{Origin: origin, AllowTo: []string{"stranger"}}, inAlice, "dingtalk", stranger, true},
		{"ids keep case", SendScope{Origin: origin, AllowTo: []string{"Stranger"}}, inAlice, "dingtalk", stranger, false},
		{"broadcast", SendScope{Origin: origin, AllowTo: []string{"*"}}, context.Background(), "dingtalk", stranger, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.scope.Check(tc.ctx, tc.channel, tc.to)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrRecipientNotAllowed)) {
				t.Fatalf("Check = %v, want allowed %v", err, tc.ok)
			}
		})
	}
}
