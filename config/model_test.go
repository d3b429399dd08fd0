package config

import (
	"slices"
	"testing"
)

func TestModelConfigEndpoints(t *testing.T) {
	tests := []struct {
		model, apiBase        string
		protocol, id, baseURL string
	}{
		{"openai/gpt-4o-mini", "", "openai", "gpt-4o-mini", "https://api.openai.com/v1"},
		{"gpt-4o-mini", "", "openai", "gpt-4o-mini", "https://api.openai.com/v1"},
		{"openrouter/anthropic/claude", "", "openrouter", "anthropic/claude", "https://openrouter.ai/api/v1"},
		{"deepseek/deepseek-chat", "", "deepseek", "deepseek-chat", "https://api.deepseek.com/v1"},
		{"qwen/qwen-plus", "", "qwen", "qwen-plus", "https://dashscope.aliyuncs.com/compatible-mode/v1"},
		{"ollama/llama3", "", "ollama", "llama3", "http://localhost:11434/v1"},
		{"anthropic/claude-sonnet-4.6", "", "anthropic", "claude-sonnet-4.6", "https://api.anthropic.com/v1"},
		{"moonshot/kimi-k2", "", "moonshot", "kimi-k2", "https://api.moonshot.cn/v1"},
		{"zhipu/glm-4.6", "", "zhipu", "glm-4.6", "https://open.bigmodel.cn/api/paas/v4"},
		{"groq/llama-3.3-70b", "", "groq", "llama-3.3-70b", "https://api.groq.com/openai/v1"},
		{"vllm/Qwen/Qwen3-8B", "", "vllm", "Qwen/Qwen3-8B", ""},
		{"vllm/Qwen/Qwen3-8B", "http://127.0.0.1:8000/v1/", "vllm", "Qwen/Qwen3-8B", "http://127.0.0.1:8000/v1"},
		{"OpenAI/gpt-4o", "", "openai", "gpt-4o", "https://api.openai.com/v1"},
		{"openai/gpt-4o", "http://127.0.0.1:1234/v1", "openai", "gpt-4o", "http://127.0.0.1:1234/v1"},
		{"antigravity/gemini", "", "antigravity", "gemini", ""},
	}
	for _, tt := range tests {
		t.Run(tt.model+"@"+tt.apiBase, func(t *testing.T) {
			m := ModelConfig{Model: tt.model, APIBase: tt.apiBase}
			if got := m.Protocol(); got != tt.protocol {
				t.Errorf("Protocol = %q, want %q", got, tt.protocol)
			}
			if got := m.ModelID(); got != tt.id {
				t.Errorf("ModelID = %q, want %q", got, tt.id)
			}
			if got := m.BaseURL(); got != tt.baseURL {
				t.Errorf("BaseURL = %q, want %q", got, tt.baseURL)
			}
		})
	}
}

func TestModelConfigKeys(t *testing.T) {
	tests := []struct {
		name string
		key  string
		keys []string
		want []string
	}{
		{"none", "", nil, nil},
		{"single", "k1", nil, []string{"k1"}},
		{"list", "", []string{"k1", "k2"}, []string{"k1", "k2"}},
		{"both, deduplicated, order kept", "k2", []string{"k1", "k2", " k3 ", "", "k1"}, []string{"k2", "k1", "k3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (ModelConfig{APIKey: tt.key, APIKeys: tt.keys}).Keys(); !slices.Equal(got, tt.want) {
				t.Errorf("Keys = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestModelsKeepsFileOrderForRotation(t *testing.T) {
	src := `{"model_list":[
		{"model_name":"lb","model":"openai/a","api_base":"https://one.example/v1"},
		{"model_name":"other","model":"openai/b"},
		{"model_name":"lb","model":"openai/a","api_base":"https://two.example/v1"},
		{"model_name":"lb","model":"deepseek/c"}]}`
	cfg, _ := mustParse(t, src, nil)
	var got []string
	for _, m := range cfg.Models("lb") {
		got = append(got, m.BaseURL())
	}
	want := []string{"https://one.example/v1", "https://two.example/v1", "https://api.deepseek.com/v1"}
	if !slices.Equal(got, want) {
		t.Errorf("Models(lb) base URLs = %q, want %q", got, want)
	}
	if n := len(cfg.Models("missing")); n != 0 {
		t.Errorf("Models(missing) returned %d entries", n)
	}
}

func TestAllowFromNumbers(t *testing.T) {
	tests := []struct {
		name, raw string
		want      StringList
	}{
		{"mixed list", `["007", 42, "abc"]`, StringList{"007", "42", "abc"}},
		{"long id kept exactly", `[123456789012345678901]`, StringList{"123456789012345678901"}},
		{"exponent form", `[1e3]`, StringList{"1000"}},
		{"single string", `"user1"`, StringList{"user1"}},
		{"single number", `99`, StringList{"99"}},
		{"empty", `[]`, StringList{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := mustParse(t, `{"channels":{"dingtalk":{"allow_from":`+tt.raw+`}}}`, nil)
			if got := cfg.Channels.DingTalk.AllowFrom; !slices.Equal(got, tt.want) {
				t.Errorf("allow_from = %q, want %q", got, tt.want)
			}
		})
	}
}
