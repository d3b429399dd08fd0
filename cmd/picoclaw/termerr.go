package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"picoclaw"
	"picoclaw/agent"
	"picoclaw/config"
)

// describeTurnError is what the terminal user, who is the administrator,
// reads when a turn fails: the cause as the provider gave it (status code
// and message, keys redacted by the provider package) and the fix, in
// place of the apology chat users get.
func describeTurnError(err error, cfg *config.Config, cfgPath string) string {
	entries := modelEntries(cfg)
	var rl *picoclaw.RateLimitError
	var fix string
	switch {
	case errors.Is(err, picoclaw.ErrAuth):
		fix = fmt.Sprintf("the provider rejected the API key (401) or its access to the model (403): check %s.api_key (or api_keys) and %s.model in %s", entries, entries, cfgPath)
	case errors.As(err, &rl):
		fix = fmt.Sprintf("the provider is rate limiting this key: wait a moment, or add keys to %s.api_keys, or lower %s.rpm", entries, entries)
	case errors.Is(err, picoclaw.ErrContextLength):
		fix = "the conversation is too long for the model: type /new to start a fresh one"
	case errors.Is(err, agent.ErrTurnTimeout), errors.Is(err, context.DeadlineExceeded):
		fix = "the model took too long to answer: try again, or ask for less at once"
	case errors.Is(err, picoclaw.ErrTemporary):
		fix = fmt.Sprintf("the model service could not be reached or failed on its side: check %s.api_base and the network (proxy variables), then try again", entries)
	case errors.Is(err, picoclaw.ErrBadResponse):
		fix = fmt.Sprintf("the model service answered something that is not a chat completion: check that %s.api_base points at an OpenAI- or Anthropic-compatible API", entries)
	default:
		fix = fmt.Sprintf("check %s.model (the model id the provider knows) and %s.api_base in %s", entries, entries, cfgPath)
	}
	return fmt.Sprintf("error: the model failed: %v\nfix:   %s", err, fix)
}

// modelEntries names the model_list entries of the default model, e.g.
// "model_list[0]", for the fix.
func modelEntries(cfg *config.Config) string {
	var idx []string
	for i, m := range cfg.ModelList {
		if m.ModelName == cfg.Agents.Defaults.ModelName {
			idx = append(idx, fmt.Sprintf("model_list[%d]", i))
		}
	}
	if len(idx) == 0 {
		return "model_list[i]"
	}
	return strings.Join(idx, "/")
}
