package config

import (
	"errors"
	"strings"
	"testing"
)

const (
	secretValue = "s3cr3t-VALUE-must-not-leak"
	keyValue    = "sk-KEY-must-not-leak"
)

func TestParseErrors(t *testing.T) {
	// okModels is a valid model_list to combine with other mistakes.
	const okModels = `"model_list":[{"model_name":"gpt","model":"openai/gpt-4o-mini","api_key":"` + keyValue + `"}]`
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want []string // each must appear in the error
	}{
		{"bool as string", `{"channels":{"dingtalk":{"enabled":"yes"}}}`, nil,
			[]string{"channels.dingtalk.enabled: expected a boolean, got string"}},
		{"int as string", `{"gateway":{"port":"18790"}}`, nil,
			[]string{"gateway.port: expected an integer, got string"}},
		{"fractional int", `{"agents":{"defaults":{"max_tokens":10.5}}}`, nil,
			[]string{"agents.defaults.max_tokens: expected an integer, got a fractional number"}},
		{"secret of wrong type", `{"channels":{"dingtalk":{"client_secret":12345}}}`, nil,
			[]string{"channels.dingtalk.client_secret: expected a string, got number"}},
		{"array index in path", `{"model_list":[{"model_name":"a","model":"x"},{"model_name":"b","model":"y","request_timeout":"30s"}]}`, nil,
			[]string{"model_list[1].request_timeout: expected an integer, got string"}},
		{"list item", `{"channels":{"dingtalk":{"allow_from":["a",{"id":1}]}}}`, nil,
			[]string{"channels.dingtalk.allow_from[1]: expected a string or number, got object"}},
		{"header value", `{` + okModels[:len(okModels)-2] + `,"custom_headers":{"X-A":1}}]}`, nil,
			[]string{"model_list[0].custom_headers.X-A: expected a string, got number"}},
		{"top level not an object", `[1,2]`, nil,
			[]string{"(top level): expected an object, got array"}},
		{"model_name not in list", `{"agents":{"defaults":{"model_name":"x"}},"model_list":[{"model_name":"gpt","model":"openai/a"},{"model_name":"ds","model":"deepseek/b"}]}`, nil,
			[]string{`agents.defaults.model_name: "x" is not in model_list (known: gpt, ds)`}},
		{"dingtalk without models", `{"channels":{"dingtalk":{"enabled":true,"client_id":"id","client_secret":"` + secretValue + `"}}}`, nil,
			[]string{"agents.defaults.model_name: required when channels.dingtalk.enabled is true, and model_list is empty"}},
		{"fallback not in list", `{"agents":{"defaults":{"model_fallbacks":["nope"]}},` + okModels + `}`, nil,
			[]string{`agents.defaults.model_fallbacks[0]: "nope" is not in model_list (known: gpt)`}},
		{"entry missing name and model", `{"model_list":[{"model_name":"gpt","model":"openai/a"},{"api_key":"` + keyValue + `"}]}`, nil,
			[]string{"model_list[1].model_name: required", "model_list[1].model: required"}},
		{"unknown protocol in used entry", `{"model_list":[{"model_name":"gpt","model":"foo/bar"}]}`, nil,
			[]string{`model_list[0].model: unknown protocol "foo" (known: anthropic, deepseek, groq, moonshot, ollama, openai, openrouter, qwen, vllm, zhipu)`}},
		{"vllm needs api_base", `{"model_list":[{"model_name":"gpt","model":"vllm/llama"}]}`, nil,
			[]string{`model_list[0].model: protocol "vllm" has no default endpoint: set model_list[0].api_base`}},
		{"empty model id", `{"model_list":[{"model_name":"gpt","model":"openai/"}]}`, nil,
			[]string{`model_list[0].model: missing the model id after "openai/"`}},
		{"model api_base not a URL", `{"model_list":[{"model_name":"gpt","model":"openai/a","api_base":"ftp://h/?key=` + keyValue + `"}]}`, nil,
			[]string{"model_list[0].api_base: must be an http:// or https:// URL with a host"}},
		{"model api_base without host", `{"model_list":[{"model_name":"gpt","model":"openai/a","api_base":"https:///v1"}]}`, nil,
			[]string{"model_list[0].api_base: must be an http:// or https:// URL with a host"}},
		{"dingtalk api_base", `{"channels":{"dingtalk":{"api_base":"api.dingtalk.com"}}}`, nil,
			[]string{"channels.dingtalk.api_base: must be an http:// or https:// URL with a host"}},
		{"negative numbers", `{"agents":{"defaults":{"max_tokens":-1,"max_tool_iterations":-2}}}`, nil,
			[]string{"agents.defaults.max_tokens: must not be negative, got -1", "agents.defaults.max_tool_iterations: must not be negative, got -2"}},
		{"port out of range", `{"gateway":{"port":65536}}`, nil,
			[]string{"gateway.port: must be between 1 and 65535, got 65536"}},
		{"negative port", `{"gateway":{"port":-1}}`, nil,
			[]string{"gateway.port: must be between 1 and 65535, got -1"}},
		{"encrypted secret", `{"channels":{"dingtalk":{"client_secret":"enc://` + secretValue + `"}}}`, nil,
			[]string{"channels.dingtalk.client_secret: enc:// and file:// references are not supported"}},
		{"bad env bool", `{}`, map[string]string{"PICOCLAW_CHANNELS_DINGTALK_ENABLED": "maybe"},
			[]string{`PICOCLAW_CHANNELS_DINGTALK_ENABLED: expected a boolean (true or false), got "maybe"`}},
		{"bad env int", `{}`, map[string]string{"PICOCLAW_GATEWAY_PORT": "http"},
			[]string{`PICOCLAW_GATEWAY_PORT: expected an integer, got "http"`}},
		{"env-made problem found by validation", `{}`, map[string]string{"PICOCLAW_GATEWAY_PORT": "99999"},
			[]string{"gateway.port: must be between 1 and 65535, got 99999"}},
		{"several problems reported together", `{"gateway":{"port":-3},"agents":{"defaults":{"max_tokens":-5}}}`, nil,
			[]string{"problems:\n", "\n  agents.defaults.max_tokens:", "\n  gateway.port:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := Parse([]byte(tt.src), envFrom(tt.env))
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want an error", cfg)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "config: ") {
				t.Errorf("error %q does not start with config:", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n%s\nlacks %q", msg, w)
				}
			}
			for _, secret := range []string{secretValue, keyValue} {
				if strings.Contains(msg, secret) {
					t.Errorf("error leaks a secret: %s", msg)
				}
			}
			var ce *Error
			var fe *FieldError
			if !errors.As(err, &ce) || !errors.As(err, &fe) {
				t.Errorf("error %T should be an *Error holding *FieldError", err)
			}
		})
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int
	}{
		{"bad value", "{\n  \"a\": 1,\n  \"b\": tru\n}", 3, 11},
		{"first byte", "x", 1, 1},
		{"missing comma", "{\"a\": 1\n \"b\": 2}", 2, 2},
		{"trailing comma", "{\n\t\"a\": [1, 2,]\n}", 2, 13},
		{"multibyte before error", "{\"名字\": ?}", 1, 8},
		{"truncated", "{\n  \"a\": {\n", 2, 9},
		{"empty", "", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.src), envFrom(nil))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SyntaxError", err)
			}
			if se.Line != tt.line || se.Column != tt.col {
				t.Errorf("position = %d:%d, want %d:%d (%v)", se.Line, se.Column, tt.line, tt.col, err)
			}
			if !strings.Contains(err.Error(), "invalid JSON: ") {
				t.Errorf("err = %q", err)
			}
		})
	}
}

// Credentials are the gateway's concern: the config loads without them (so
// `picoclaw agent` works), and CheckDingTalk names each missing one.
func TestCheckDingTalk(t *testing.T) {
	const models = `"model_list":[{"model_name":"gpt","model":"openai/gpt-4o-mini"}]`
	tests := []struct {
		name, src string
		env       map[string]string
		want      []string // empty: no error
	}{
		{"client_id missing", `{` + models + `,"channels":{"dingtalk":{"enabled":true,"client_secret":"` + secretValue + `"}}}`, nil,
			[]string{"config: /p/config.json: channels.dingtalk.client_id: required when channels.dingtalk.enabled is true (or set PICOCLAW_CHANNELS_DINGTALK_CLIENT_ID)"}},
		{"client_secret missing", `{` + models + `,"channels":{"dingtalk":{"enabled":true,"client_id":"id"}}}`, nil,
			[]string{"channels.dingtalk.client_secret: required when channels.dingtalk.enabled is true (or set PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET)"}},
		{"both missing", `{` + models + `,"channels":{"dingtalk":{"enabled":true}}}`, nil,
			[]string{"2 problems:", "\n  channels.dingtalk.client_id:", "\n  channels.dingtalk.client_secret:"}},
		{"from the environment", `{` + models + `,"channels":{"dingtalk":{"enabled":true}}}`,
			map[string]string{"PICOCLAW_CHANNELS_DINGTALK_CLIENT_ID": "id", "PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET": secretValue}, nil},
		{"disabled needs nothing", `{` + models + `,"channels":{"dingtalk":{"enabled":false}}}`, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := Parse([]byte(tt.src), func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatalf("Parse: %v (credentials must not be required to load)", err)
			}
			err = cfg.CheckDingTalk("/p/config.json")
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("CheckDingTalk = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("CheckDingTalk = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secretValue) {
				t.Error("the secret leaked into the error")
			}
		})
	}
}
