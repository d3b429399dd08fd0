package config

import (
	"slices"
	"strings"
)

// Protocol is the part of Model before the first slash, lower-cased;
// "openai" when Model has no slash.
func (m ModelConfig) Protocol() string {
	proto, _, ok := strings.Cut(m.Model, "/")
	if !ok {
		return "openai"
	}
	return strings.ToLower(strings.TrimSpace(proto))
}

// ModelID is the model identifier sent to the API: Model after its first
// slash ("openrouter/anthropic/claude" → "anthropic/claude").
func (m ModelConfig) ModelID() string {
	_, id, ok := strings.Cut(m.Model, "/")
	if !ok {
		return m.Model
	}
	return id
}

// Keys returns the entry's API keys: api_key first, then api_keys (the
// order PicoClaw's migration merges them in), blanks dropped, duplicates
// removed.
func (m ModelConfig) Keys() []string {
	var keys []string
	for _, k := range append([]string{m.APIKey}, m.APIKeys...) {
		k = strings.TrimSpace(k)
		if k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// BaseURL returns api_base without a trailing slash, or the protocol's
// default endpoint; "" when neither is known (vllm, unknown protocols).
func (m ModelConfig) BaseURL() string {
	if m.APIBase != "" {
		return strings.TrimRight(m.APIBase, "/")
	}
	base, _ := defaultBaseURL(m.Protocol())
	return base
}

// defaultBaseURL reports the default endpoint of a protocol, and whether the
// protocol is known at all. A switch rather than a package-level map keeps
// the table immutable.
func defaultBaseURL(protocol string) (base string, known bool) {
	switch protocol {
	case "openai":
		return "https://api.openai.com/v1", true
	case "anthropic":
		return "https://api.anthropic.com/v1", true
	case "deepseek":
		return "https://api.deepseek.com/v1", true
	case "qwen":
		return "https://dashscope.aliyuncs.com/compatible-mode/v1", true
	case "ollama":
		return "http://localhost:11434/v1", true
	case "openrouter":
		return "https://openrouter.ai/api/v1", true
	case "moonshot":
		return "https://api.moonshot.cn/v1", true
	case "zhipu":
		return "https://open.bigmodel.cn/api/paas/v4", true
	case "groq":
		return "https://api.groq.com/openai/v1", true
	case "vllm":
		return "", true // self-hosted: api_base is required
	}
	return "", false
}

// KnownProtocols lists the protocols a model_list entry may use, sorted.
func KnownProtocols() []string {
	return []string{"anthropic", "deepseek", "groq", "moonshot", "ollama", "openai", "openrouter", "qwen", "vllm", "zhipu"}
}

// Models returns every model_list entry named name, in file order; callers
// rotate over them for load balancing and failover.
func (c *Config) Models(name string) []ModelConfig {
	var out []ModelConfig
	for _, m := range c.ModelList {
		if m.ModelName == name {
			out = append(out, m)
		}
	}
	return out
}
