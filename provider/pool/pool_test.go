package pool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"picoclaw"
)

// fake answers with its name, or fails with err.
type fake struct {
	name string
	err  error
	mu   sync.Mutex
	got  []string // models requested
}

func (f *fake) Complete(_ context.Context, req picoclaw.Request, _ func(picoclaw.Delta)) (*picoclaw.Response, error) {
	f.mu.Lock()
	f.got = append(f.got, req.Model)
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return &picoclaw.Response{Content: f.name}, nil
}

func group(name string, fakes ...*fake) *Group {
	g := &Group{Name: name}
	for _, f := range fakes {
		g.Members = append(g.Members, Member{Name: name, Model: f.name + "-id", Provider: f})
	}
	return g
}

func newPool(t *testing.T, groups ...*Group) *Pool {
	t.Helper()
	p, err := New(groups, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.pause = 0
	return p
}

func TestEntriesWithOneNameRotate(t *testing.T) {
	a, b := &fake{name: "a"}, &fake{name: "b"}
	p := newPool(t, group("gpt", a, b))
	var got []string
	for range 4 {
		resp, err := p.Complete(context.Background(), picoclaw.Request{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, resp.Content)
	}
	if fmt.Sprint(got) != "[a b a b]" {
		t.Errorf("answers came from %v, want the entries in turn", got)
	}
	if a.got[0] != "a-id" {
		t.Errorf("entry a was asked for model %q, want its own id", a.got[0])
	}
}

func TestFallbackOnRetryableErrors(t *testing.T) {
	for _, err := range []error{
		&picoclaw.RateLimitError{Err: errors.New("429")},
		fmt.Errorf("503: %w", picoclaw.ErrTemporary),
	} {
		primary, backup := &fake{name: "primary", err: err}, &fake{name: "backup"}
		p := newPool(t, group("main", primary), group("fallback", backup))
		resp, got := p.Complete(context.Background(), picoclaw.Request{}, nil)
		if got != nil || resp.Content != "backup" {
			t.Errorf("after %v: answer %v, err %v; want the fallback's answer", err, resp, got)
		}
	}
}

func TestNoFallbackOnAuthOrContextErrors(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("401: %w", picoclaw.ErrAuth),
		fmt.Errorf("too long: %w", picoclaw.ErrContextLength),
	} {
		primary, backup := &fake{name: "primary", err: err}, &fake{name: "backup"}
		p := newPool(t, group("main", primary), group("fallback", backup))
		if _, got := p.Complete(context.Background(), picoclaw.Request{}, nil); !errors.Is(got, err) {
			t.Errorf("got %v, want %v returned as is", got, err)
		}
		if len(backup.got) != 0 {
			t.Errorf("fallback asked after %v; it cannot help", err)
		}
	}
}

func TestAllFailKeepsKinds(t *testing.T) {
	p := newPool(t, group("a", &fake{name: "a", err: picoclaw.ErrTemporary}),
		group("b", &fake{name: "b", err: &picoclaw.RateLimitError{Err: errors.New("429")}}))
	_, err := p.Complete(context.Background(), picoclaw.Request{}, nil)
	var rl *picoclaw.RateLimitError
	if !errors.Is(err, picoclaw.ErrTemporary) || !errors.As(err, &rl) {
		t.Errorf("err %v lost its kinds", err)
	}
}
