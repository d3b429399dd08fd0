package main

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"picoclaw"
	"picoclaw/config"
)

// modelSet holds the provider of each model_list name that turns call:
// the default, and the model_name of each group that names one. The
// model_list is the one the process started with (a reload does not change
// it), so a group can switch to any model listed there without a restart.
type modelSet struct {
	cfg *config.Config
	hc  *http.Client
	log *slog.Logger

	mu     sync.Mutex
	byName map[string]modelChoice
}

type modelChoice struct {
	provider picoclaw.Provider
	id       string // the model id sent on the wire
}

func newModelSet(cfg *config.Config, hc *http.Client, log *slog.Logger) *modelSet {
	return &modelSet{cfg: cfg, hc: hc, log: log, byName: map[string]modelChoice{}}
}

// get returns the provider of a model_list name (with the default
// fallbacks behind it) and its model id, building it on first use.
func (m *modelSet) get(name string) (picoclaw.Provider, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.byName[name]; ok {
		return c.provider, c.id, nil
	}
	entries := m.cfg.Models(name)
	if len(entries) == 0 {
		return nil, "", fmt.Errorf("model %q is not in model_list", name)
	}
	p, err := newPool(m.cfg, name, m.hc, m.log)
	if err != nil {
		return nil, "", err
	}
	c := modelChoice{provider: p, id: entries[0].ModelID()}
	m.byName[name] = c
	return c.provider, c.id, nil
}

// check builds the model of every bot, and every group of cfg's bots,
// that names one, so
// that no turn meets a model it cannot call. A model_name missing from the
// model_list the process started with is an error naming the key: adding
// models needs a restart.
func (m *modelSet) check(cfg *config.Config) error {
	var known []string
	for _, e := range m.cfg.ModelList {
		if !slices.Contains(known, e.ModelName) {
			known = append(known, e.ModelName)
		}
	}
	for _, b := range cfg.DingTalkBots {
		if b.ModelName != "" {
			if _, _, err := m.get(b.ModelName); err != nil {
				return fmt.Errorf("config: %s: %w", b.Path("model_name"), err)
			}
		}
		for _, cid := range slices.Sorted(maps.Keys(b.Groups)) {
			name := b.Groups[cid].ModelName
			if name == "" {
				continue
			}
			path := b.Path("groups") + "." + cid + ".model_name"
			if !slices.Contains(known, name) {
				return fmt.Errorf("config: %s: %q is not in the model_list this gateway started with (%s); new models need a restart",
					path, name, strings.Join(known, ", "))
			}
			if _, _, err := m.get(name); err != nil {
				return fmt.Errorf("config: %s: %w", path, err)
			}
		}
	}
	return nil
}
