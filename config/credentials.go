package config

import (
	"fmt"
	"strings"
)

// placeholders are the values example configs and tutorials ship in
// credential fields; a config still holding one was never filled in.
var placeholders = []string{"sk-…", "sk-...", "sk-xxx", "YOUR_CLIENT_ID", "YOUR_CLIENT_SECRET", "YOUR_API_KEY"}

// placeholder reports whether a credential value is an example left in
// place rather than a real value.
func placeholder(v string) bool {
	v = strings.TrimSpace(v)
	for _, p := range placeholders {
		if strings.EqualFold(v, p) {
			return true
		}
	}
	return false
}

// keylessProtocols run on the user's machine and take no API key.
var keylessProtocols = map[string]bool{"ollama": true, "vllm": true}

// CheckModelKeys reports what the agent needs from model_list beyond what
// Parse checks: every entry it may call (agents.defaults.model_name, the
// fallbacks, group overrides) has a real API key, not an empty one or a
// placeholder. `agent` and `gateway` call it at start, so a freshly
// onboarded config fails with the field to fill in instead of sending
// requests without a key. path names the config file in the error.
func (c *Config) CheckModelKeys(path string) error {
	used := c.usedModels()
	var errs []error
	for i, m := range c.ModelList {
		if !used[m.ModelName] {
			continue
		}
		at := fmt.Sprintf("model_list[%d]", i)
		what := fmt.Sprintf("put the API key of %s (model %q) here", providerName(m.Protocol()), m.Model)
		bad := false
		if placeholder(m.APIKey) {
			errs = append(errs, &FieldError{Path: at + ".api_key", Msg: "is the example placeholder " + fmt.Sprintf("%q", strings.TrimSpace(m.APIKey)) + ": " + what})
			bad = true
		}
		for j, k := range m.APIKeys {
			if placeholder(k) {
				errs = append(errs, &FieldError{Path: fmt.Sprintf("%s.api_keys[%d]", at, j), Msg: fmt.Sprintf("is the example placeholder %q: %s", strings.TrimSpace(k), what)})
				bad = true
			}
		}
		if !bad && len(m.Keys()) == 0 && !keylessProtocols[m.Protocol()] {
			errs = append(errs, &FieldError{Path: at + ".api_key", Msg: "is empty: " + what + " (or several in api_keys)"})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &Error{File: path, Problems: errs}
}

// usedModels is the model_list names the agent may call: the default,
// its fallbacks, group overrides, and their per-entry fallbacks.
func (c *Config) usedModels() map[string]bool {
	used := map[string]bool{}
	if n := c.Agents.Defaults.ModelName; n != "" {
		used[n] = true
	}
	for _, n := range c.Agents.Defaults.ModelFallbacks {
		used[n] = true
	}
	for _, b := range c.DingTalkBots {
		for _, g := range b.Groups {
			if g.ModelName != "" {
				used[g.ModelName] = true
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, m := range c.ModelList {
			if !used[m.ModelName] {
				continue
			}
			for _, f := range m.Fallbacks {
				if !used[f] {
					used[f], changed = true, true
				}
			}
		}
	}
	return used
}

// providerName names where a protocol's keys come from, for the fix.
func providerName(protocol string) string {
	if protocol == "" {
		return "your model provider"
	}
	return "your " + protocol + " account"
}

// ModelsInUse is the set of model_list names the agent may call (the
// default, its fallbacks, group overrides and theirs): what a setup
// check must reach.
func (c *Config) ModelsInUse() map[string]bool { return c.usedModels() }

// IsPlaceholder reports whether v is one of the example values configs
// and tutorials ship in credential fields (YOUR_CLIENT_ID, sk-…), so a
// command that asks for a credential can refuse it.
func IsPlaceholder(v string) bool { return placeholder(v) }
