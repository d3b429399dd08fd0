package agent

import (
	"context"
	"errors"
	"testing"

	"picoclaw"
)

// A turn cut short by shutdown sends nothing and records nothing: its
// message stays pending in the gateway's inbox and is answered after
// restart, so an apology now would be followed by a second answer.
func TestShutdownCancelledTurnIsLeftForReplay(t *testing.T) {
	entered := make(chan struct{})
	p := &fakeProvider{reply: func(ctx context.Context, _ int, _ picoclaw.Request) (*picoclaw.Response, error) {
		close(entered)
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}}
	h := newHarness(t, p, nil)
	after := make(chan error, 1)
	d := h.agent.NewDispatcher(DispatcherOptions{AfterTurn: func(_ picoclaw.Inbound, err error) { after <- err }})
	if !d.Dispatch(testIn) {
		t.Fatal("Dispatch = false")
	}
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace: cancel the running turn
	if err := d.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	if err := <-after; !errors.Is(err, ErrShutdown) {
		t.Errorf("AfterTurn got %v, want ErrShutdown", err)
	}
	if sent := h.out.sent(); len(sent) != 0 {
		t.Errorf("sent %+v during shutdown, want nothing", sent)
	}
	if hist := h.store.history(testIn.SessionKey()); len(hist) != 0 {
		t.Errorf("history %q recorded for a turn that will be replayed", brief(hist))
	}
}

func TestAfterTurnSeesAnsweredTurns(t *testing.T) {
	h := newHarness(t, answer("hi", ""), nil)
	after := make(chan error, 1)
	d := h.agent.NewDispatcher(DispatcherOptions{AfterTurn: func(_ picoclaw.Inbound, err error) { after <- err }})
	d.Dispatch(testIn)
	if err := <-after; err != nil {
		t.Errorf("AfterTurn got %v for an answered turn", err)
	}
	mustShutdown(t, d)
}
