package main

import (
	"context"
	"time"

	"picoclaw"
)

// endCardTimeout bounds ending the card of a turn that failed.
const endCardTimeout = 5 * time.Second

// withThinking makes each DingTalk turn start by putting the thinking
// reaction on the user's message (channels.dingtalk.thinking_reaction),
// then runs prepare. The reaction comes off when the channel delivers the
// turn's answer, or, by withThinkingDone, when the turn ends in a way that
// will send none. It never waits on DingTalk.
func withThinking(bots botLookup, prepare func(context.Context, *picoclaw.Inbound)) func(context.Context, *picoclaw.Inbound) {
	return func(ctx context.Context, in *picoclaw.Inbound) {
		if ch := bots.channel(in.Channel); ch != nil {
			ch.StartThinking(in.MessageID)
		}
		if prepare != nil {
			prepare(ctx, in)
		}
	}
}

// withThinkingDone takes the reaction off, and ends the AI card of, a message whose turn failed,
// was stopped or given up, or was cut short by a shutdown (a turn run
// again later puts it back): such a turn may deliver no answer. Then it
// runs after.
func withThinkingDone(bots botLookup, after func(picoclaw.Inbound, error)) func(picoclaw.Inbound, error) {
	return func(in picoclaw.Inbound, err error) {
		if ch := bots.channel(in.Channel); ch != nil && err != nil {
			ch.StopThinking(in.MessageID)
			// A card still streaming gets no answer now: it ends showing
			// what it had, marked stopped (bounded: this runs on the
			// dispatcher's worker, and at shutdown too).
			ctx, cancel := context.WithTimeout(context.Background(), endCardTimeout)
			ch.EndCard(ctx, in.MessageID)
			cancel()
		}
		if after != nil {
			after(in, err)
		}
	}
}
