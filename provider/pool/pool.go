package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"picoclaw"
	"picoclaw/internal/backoff"
)

// Member is one model_list entry.
type Member struct {
	Name     string // model_name, for logs
	Model    string // the model id sent on the wire
	Provider picoclaw.Provider
}

// Group is the entries of one model_name; they rotate.
type Group struct {
	Name    string
	Members []Member
	next    atomic.Uint32
}

// Pool tries its groups in order: the primary model, then the fallbacks.
type Pool struct {
	groups []*Group
	log    *slog.Logger
	// pause is the wait before moving to the next group (short: the agent
	// has its own retries around the whole pool).
	pause time.Duration
}

// New returns a Pool over groups (the first is the primary model).
func New(groups []*Group, logger *slog.Logger) (*Pool, error) {
	if len(groups) == 0 {
		return nil, errors.New("pool: no models")
	}
	for _, g := range groups {
		if len(g.Members) == 0 {
			return nil, fmt.Errorf("pool: model %q has no entries", g.Name)
		}
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Pool{groups: groups, log: logger, pause: 200 * time.Millisecond}, nil
}

// Complete asks one member of each group in turn until one answers. A
// fallback is a retry: it draws on ctx's retry budget (picoclaw.SpendRetry)
// and is not tried once the budget is spent.
func (p *Pool) Complete(ctx context.Context, req picoclaw.Request, onDelta func(picoclaw.Delta)) (*picoclaw.Response, error) {
	var errs []error
	for i, g := range p.groups {
		if i > 0 {
			if err := backoff.Sleep(ctx, p.pause); err != nil {
				return nil, err
			}
		}
		m := g.Members[int(g.next.Add(1)-1)%len(g.Members)]
		r := req
		r.Model = m.Model
		resp, err := m.Provider.Complete(ctx, r, onDelta)
		if err == nil {
			return resp, nil
		}
		if !picoclaw.IsRetryable(err) || ctx.Err() != nil {
			return nil, err
		}
		errs = append(errs, err)
		if i+1 < len(p.groups) && !picoclaw.SpendRetry(ctx) {
			p.log.Warn("model failed; the turn's retries are spent, no fallback tried", "model", g.Name, "err", err)
			break
		}
		if i+1 < len(p.groups) {
			p.log.Warn("model failed, trying fallback", "model", g.Name, "fallback", p.groups[i+1].Name, "err", err)
		}
	}
	if len(errs) == 1 {
		return nil, errs[0]
	}
	return nil, fmt.Errorf("pool: every model failed: %w", errors.Join(errs...))
}
