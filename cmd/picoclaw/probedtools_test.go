package main

import (
	"context"
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
	"picoclaw/tools"
)

type fakeExec struct{}

func (fakeExec) Def() picoclaw.ToolDef { return picoclaw.ToolDef{Name: "exec", Description: "run"} }
func (fakeExec) Call(context.Context, json.RawMessage) (string, error) {
	return "", nil
}

// TestTrialWaitsForConnection: the sandbox's trial (a second process)
// starts only once a bot is connected, or after trialWaitLimit when none
// connects; exec is offered once it passed either way.
func TestTrialWaitsForConnection(t *testing.T) {
	for _, connect := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			pt := newProbedTools(tools.NewRegistry(nil))
			connected := make(chan struct{})
			ran := make(chan struct{})
			pt.trial(t.Context(), connected, func(context.Context) bool { close(ran); return true }, fakeExec{}, nil)
			defer pt.stop()
			time.Sleep(time.Second)
			synctest.Wait()
			select {
			case <-ran:
				t.Fatal("the trial ran before any bot connected")
			default:
			}
			if connect {
				close(connected)
			}
			<-ran // at once, or after trialWaitLimit in the bubble's clock
			if got := pt.Defs(); len(got) != 1 || got[0].Name != "exec" {
				t.Fatalf("defs = %v, want exec offered after the trial", got)
			}
		})
	}
}
