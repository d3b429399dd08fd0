package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"picoclaw"
	"picoclaw/config"
)

// modelKey is one API key of a model_list entry and the field it is in.
type modelKey struct{ path, key string }

// entryKeys lists the keys of model_list[i] with their field paths, in
// the order Keys() uses them (api_key, then api_keys), so a rotation
// cannot hide a bad key behind a good one.
func entryKeys(i int, m config.ModelConfig) []modelKey {
	at := fmt.Sprintf("model_list[%d]", i)
	var out []modelKey
	seen := map[string]bool{}
	add := func(path, k string) {
		k = strings.TrimSpace(k)
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, modelKey{path, k})
		}
	}
	add(at+".api_key", m.APIKey)
	for j, k := range m.APIKeys {
		add(fmt.Sprintf("%s.api_keys[%d]", at, j), k)
	}
	if len(out) == 0 {
		out = append(out, modelKey{path: at}) // a keyless local model (ollama, vllm)
	}
	return out
}

// doctorModels sends every model the agent may call one tiny request per
// API key.
func doctorModels(ctx context.Context, r *doctorReport, cfg *config.Config, path string, hc *http.Client) {
	if err := cfg.CheckModelKeys(path); err != nil {
		r.fail("model keys", problems(err), "put the provider's API key into "+path)
		return
	}
	used := cfg.ModelsInUse()
	for i, m := range cfg.ModelList {
		if !used[m.ModelName] {
			continue
		}
		for _, k := range entryKeys(i, m) {
			one := m
			one.APIKey, one.APIKeys = k.key, nil
			name := fmt.Sprintf("model %s (%s, %s)", m.ModelName, k.path, m.Model)
			doctorModel(ctx, r, name, one, k.path, hc)
		}
	}
}

func doctorModel(ctx context.Context, r *doctorReport, name string, m config.ModelConfig, keyPath string, hc *http.Client) {
	at, _, _ := strings.Cut(keyPath, ".")
	p, model, err := providerFor(m, hc, slog.New(slog.DiscardHandler))
	if err != nil {
		r.fail(name, err.Error(), "check "+at+".model and "+at+".api_base")
		return
	}
	cctx, cancel := context.WithTimeout(ctx, doctorCheckTimeout)
	defer cancel()
	// A few tokens: enough for every provider to accept the request, too
	// few to cost anything.
	_, err = p.Complete(cctx, picoclaw.Request{Model: model, MaxTokens: 16,
		Messages: []picoclaw.Message{{Role: picoclaw.RoleUser, Content: "Reply with: ok"}}}, func(picoclaw.Delta) {})
	if err == nil {
		r.ok(name, "the model answered at "+m.BaseURL())
		return
	}
	var rl *picoclaw.RateLimitError
	switch {
	case errors.Is(err, picoclaw.ErrAuth):
		r.fail(name, err.Error(), fmt.Sprintf("wrong key for model %q at %s: copy the API key again from %s's console (or the key lacks access to %q: check %s.model)",
			m.ModelName, keyPath, providerName(m), m.ModelID(), at))
	case errors.As(err, &rl):
		// The key was accepted; only the quota or the rate is exhausted.
		r.warn(name, "the key was accepted but the provider is rate limiting it: "+err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, picoclaw.ErrTemporary):
		r.fail(name, err.Error(), fmt.Sprintf("check the network (proxy variables) and %s.api_base (%s)", at, m.BaseURL()))
	default:
		r.fail(name, err.Error(), fmt.Sprintf("check %s.model (the model id the provider knows) and %s.api_base (%s)", at, at, m.BaseURL()))
	}
}

// providerName is the protocol part of model, for the fix text.
func providerName(m config.ModelConfig) string { return m.Protocol() }
