package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// validate checks a normalised config. Problems that stop this build from
// working are errors; problems in model_list entries nothing refers to are
// warnings, so a PicoClaw config listing providers this build lacks still
// loads.
func validate(c *Config) (warnings []string, errs []error) {
	fail := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	d := c.Agents.Defaults
	if d.MaxTokens < 0 {
		fail("agents.defaults.max_tokens", "must not be negative, got %d", d.MaxTokens)
	}
	if d.MaxToolIterations < 0 {
		fail("agents.defaults.max_tool_iterations", "must not be negative, got %d", d.MaxToolIterations)
	}
	// Written so that NaN, which compares false with everything, fails.
	if t := d.Temperature; t != nil && !(*t >= 0 && *t <= 2) {
		fail("agents.defaults.temperature", "must be a number between 0 and 2, got %g", *t)
	}
	if msg := checkDataDir(d.Workspace, d.DataDir); msg != "" {
		fail("agents.defaults.data_dir", "%s", msg)
	}
	for _, f := range []struct {
		key string
		n   int
	}{{"context_window", d.ContextWindow}, {"summarize_message_threshold", d.SummarizeMessageThreshold}, {"max_media_size", d.MaxMediaSize}} {
		if f.n < 0 {
			fail("agents.defaults."+f.key, "must not be negative, got %d", f.n)
		}
	}
	validateLimits(&d, fail)
	if p := d.SummarizeTokenPercent; p < 0 || p > 100 {
		fail("agents.defaults.summarize_token_percent", "must be between 0 and 100, got %d", p)
	}
	validateStorage(c.Storage, fail)
	if p := c.Gateway.Port; p < 1 || p > 65535 {
		fail("gateway.port", "must be between 1 and 65535, got %d", p)
	}

	names := modelNames(c.ModelList)
	used := map[string]bool{}
	enabled := c.EnabledDingTalkBots()
	switch {
	case d.ModelName == "" && len(enabled) > 0:
		fail("agents.defaults.model_name", "required when %s is true, and model_list is empty: add a model to model_list", enabled[0].Path("enabled"))
	case d.ModelName != "" && !slices.Contains(names, d.ModelName):
		fail("agents.defaults.model_name", "%q is not in model_list (%s)", d.ModelName, knownList(names))
	default:
		used[d.ModelName] = true
	}
	for i, name := range d.ModelFallbacks {
		if !slices.Contains(names, name) {
			fail(fmt.Sprintf("agents.defaults.model_fallbacks[%d]", i), "%q is not in model_list (%s)", name, knownList(names))
		}
		used[name] = true
	}
	for _, b := range c.DingTalkBots {
		warnings = append(warnings, validateGroups(b, names, used, fail)...)
	}
	validateBots(c, names, used, fail)
	// Per-entry fallbacks are reachable too, transitively.
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

	for i, m := range c.ModelList {
		w, e := validateModel(fmt.Sprintf("model_list[%d]", i), m, used[m.ModelName], names)
		warnings = append(warnings, w...)
		errs = append(errs, e...)
	}

	// Missing credentials are checked by CheckDingTalk, when the gateway
	// starts: `picoclaw agent` and `status` work without them.
	for _, b := range c.DingTalkBots {
		if isSecretRef(b.ClientSecret) {
			fail(b.Path("client_secret"), "enc:// and file:// references are not supported by this build; write the value or set %s", EnvName(b.Path("client_secret")))
		}
		if msg := checkHTTPURL(b.APIBase); msg != "" {
			fail(b.Path("api_base"), "%s", msg)
		}
		if b.ChatLimit < 0 {
			fail(b.Path("chat_limit"), "must not be negative (0 takes the default, 20)")
		}
		if b.ChatWindowSeconds < 0 {
			fail(b.Path("chat_window_seconds"), "must not be negative (0 takes the default, 60)")
		}
		if b.CardTemplateID != strings.TrimSpace(b.CardTemplateID) {
			fail(b.Path("card_template_id"), "has leading or trailing spaces; write the template id as DingTalk's card platform shows it")
		}
		if b.CardUpdateMs < 0 || b.CardUpdateMs > maxCardUpdateMs {
			fail(b.Path("card_update_ms"), "must be between 0 and %d milliseconds (0 takes the default, %d)", maxCardUpdateMs, DefaultCardUpdateMs)
		}
	}
	w, e := validateTools(c.Tools)
	return append(warnings, w...), checkNumbers(c, append(errs, e...))
}

// maxCardUpdateMs bounds card_update_ms: a card updated less than once a
// minute no longer streams.
const maxCardUpdateMs = 60_000

func validateModel(path string, m ModelConfig, used bool, names []string) (warnings []string, errs []error) {
	fail := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path + "." + field, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(m.ModelName) == "" {
		fail("model_name", "required (the name agents.defaults.model_name refers to)")
	}
	if strings.TrimSpace(m.Model) == "" {
		fail("model", `required, as "protocol/model-id" (e.g. "openai/gpt-4o-mini")`)
	} else if m.ModelID() == "" {
		fail("model", `missing the model id after %q`, m.Protocol()+"/")
	}
	if m.APIBase != "" {
		if msg := checkHTTPURL(m.APIBase); msg != "" {
			fail("api_base", "%s", msg)
		}
	}
	if m.RequestTimeout < 0 {
		fail("request_timeout", "must not be negative, got %d", m.RequestTimeout)
	}
	if m.RPM < 0 {
		fail("rpm", "must not be negative, got %d", m.RPM)
	}
	for _, k := range m.Keys() {
		if isSecretRef(k) {
			fail("api_keys", "enc:// and file:// references are not supported by this build; write the key itself")
			break
		}
	}
	for i, f := range m.Fallbacks {
		if !slices.Contains(names, f) {
			fail(fmt.Sprintf("fallbacks[%d]", i), "%q is not in model_list (%s)", f, knownList(names))
		}
	}

	// Protocol problems only matter for entries this build will call.
	var msg string
	if m.Model != "" {
		base, known := defaultBaseURL(m.Protocol())
		switch {
		case !known:
			msg = fmt.Sprintf("unknown protocol %q (known: %s)", m.Protocol(), strings.Join(KnownProtocols(), ", "))
		case base == "" && m.APIBase == "":
			msg = fmt.Sprintf("protocol %q has no default endpoint: set %s.api_base", m.Protocol(), path)
		}
	}
	if msg != "" {
		if used {
			fail("model", "%s", msg)
		} else {
			warnings = append(warnings, fmt.Sprintf("config: %s.model: %s (entry unused, ignored)", path, msg))
		}
	}
	return warnings, errs
}

// checkHTTPURL returns why s is not an http(s) URL with a host, or "". The
// value itself is left out: URLs can carry tokens in their query.
func checkHTTPURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an http:// or https:// URL with a host"
	}
	return ""
}

func isSecretRef(s string) bool {
	return strings.HasPrefix(s, "enc://") || strings.HasPrefix(s, "file://")
}

// modelNames lists model_list names once each, in file order.
func modelNames(list []ModelConfig) []string {
	var names []string
	for _, m := range list {
		if m.ModelName != "" && !slices.Contains(names, m.ModelName) {
			names = append(names, m.ModelName)
		}
	}
	return names
}

func knownList(names []string) string {
	if len(names) == 0 {
		return "model_list is empty"
	}
	return "known: " + strings.Join(names, ", ")
}

// CheckDingTalk reports what the gateway needs from the DingTalk bots
// beyond what Parse checks: each enabled bot's app credentials.
// path names the config file in the error, as Load does.
func (c *Config) CheckDingTalk(path string) error {
	var errs []error
	for _, b := range c.EnabledDingTalkBots() {
		for _, f := range []struct{ key, value string }{
			{b.Path("client_id"), b.ClientID},
			{b.Path("client_secret"), b.ClientSecret},
		} {
			switch {
			case strings.TrimSpace(f.value) == "":
				errs = append(errs, &FieldError{Path: f.key,
					Msg: fmt.Sprintf("required when %s is true (or set %s)", b.Path("enabled"), EnvName(f.key))})
			case placeholder(f.value):
				errs = append(errs, &FieldError{Path: f.key,
					Msg: fmt.Sprintf("is the example placeholder %q: put the value from the DingTalk developer console (your app → Credentials & Basic Info) here, or set %s", strings.TrimSpace(f.value), EnvName(f.key))})
			}
		}
	}
	errs = append(errs, checkDistinctApps(c.EnabledDingTalkBots())...)
	if len(errs) == 0 {
		return nil
	}
	return &Error{File: path, Problems: errs}
}
