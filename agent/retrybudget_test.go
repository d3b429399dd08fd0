package agent

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/provider/openai"
	"picoclaw/provider/pool"
	"picoclaw/provider/providertest"
)

// A rate-limited model costs a turn at most picoclaw.TurnRetries more
// requests, however the retrying layers are stacked: the agent's retries
// around a pool with a fallback model, each with two API keys. Without one
// budget per turn these multiplied to 3 × 2 × 2 = 12 requests.
func TestTurnRetryBudgetSpansLayers(t *testing.T) {
	limited := providertest.Reply{Status: http.StatusTooManyRequests,
		Body: `{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}`}
	var fakes []*providertest.OpenAI
	var groups []*pool.Group
	for _, name := range []string{"primary", "fallback"} {
		fake := providertest.NewOpenAI()
		t.Cleanup(fake.Close)
		fake.SetHandler(func(providertest.RecordedRequest) providertest.Reply { return limited })
		p, err := openai.New(openai.Config{BaseURL: fake.URL(), Model: name, APIKeys: []string{"sk-one", "sk-two"}})
		if err != nil {
			t.Fatal(err)
		}
		fakes = append(fakes, fake)
		groups = append(groups, &pool.Group{Name: name, Members: []pool.Member{{Name: name, Model: name, Provider: p}}})
	}
	models, err := pool.New(groups, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, models, nil)
	h.agent.retryDelays = []time.Duration{0, 0} // the budget, not the waits, is under test

	err = h.agent.Turn(context.Background(), testIn)
	var rl *picoclaw.RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("Turn = %v, want the rate limit error", err)
	}
	requests := 0
	for _, f := range fakes {
		requests += len(f.Requests())
	}
	if want := 1 + picoclaw.TurnRetries; requests != want {
		t.Errorf("one rate-limited turn made %d requests, want %d", requests, want)
	}
	if sent := h.out.sent(); len(sent) != 1 {
		t.Errorf("sent %+v, want one apology", sent)
	}
}
