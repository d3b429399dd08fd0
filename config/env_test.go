package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestEnvOverridesWinOverFile(t *testing.T) {
	src := `{
	  "agents": {"defaults": {"workspace": "/from/file", "model_name": "a", "max_tokens": 100, "model_fallbacks": ["a"]}},
	  "model_list": [{"model_name": "a", "model": "openai/x"}, {"model_name": "b", "model": "deepseek/y"}],
	  "channels": {"dingtalk": {"enabled": false, "client_id": "file-id", "client_secret": "file-secret",
	    "allow_from": ["file-user"], "group_trigger": {"mention_only": true}, "reasoning_channel_id": "file-conv"}},
	  "gateway": {"port": 1000}
	}`
	env := map[string]string{
		"HOME":                                                  "/home/env",
		"PICOCLAW_AGENTS_DEFAULTS_WORKSPACE":                    "~/ws",
		"PICOCLAW_AGENTS_DEFAULTS_MODEL_NAME":                   "b",
		"PICOCLAW_AGENTS_DEFAULTS_MAX_TOKENS":                   "4096",
		"PICOCLAW_AGENTS_DEFAULTS_TEMPERATURE":                  "0.25",
		"PICOCLAW_AGENTS_DEFAULTS_MODEL_FALLBACKS":              "b, a",
		"PICOCLAW_CHANNELS_DINGTALK_ENABLED":                    "true",
		"PICOCLAW_CHANNELS_DINGTALK_CLIENT_ID":                  "env-id",
		"PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET":              "env-secret",
		"PICOCLAW_CHANNELS_DINGTALK_ALLOW_FROM":                 " 007, user2，user3 ,",
		"PICOCLAW_CHANNELS_DINGTALK_GROUP_TRIGGER_MENTION_ONLY": "false",
		"PICOCLAW_CHANNELS_DINGTALK_REASONING_CHANNEL_ID":       "env-conv",
		"PICOCLAW_CHANNELS_DINGTALK_API_BASE":                   "http://127.0.0.1:9999/",
		"PICOCLAW_GATEWAY_PORT":                                 "2000",
		"PICOCLAW_GATEWAY_HOST":                                 "0.0.0.0",
	}
	cfg, _ := mustParse(t, src, env)
	d := cfg.Agents.Defaults
	if d.Workspace != "/home/env/ws" || d.ModelName != "b" || d.MaxTokens != 4096 {
		t.Errorf("agents.defaults = %+v", d)
	}
	if d.Temperature == nil || *d.Temperature != 0.25 {
		t.Errorf("temperature = %v", d.Temperature)
	}
	if !slices.Equal(d.ModelFallbacks, []string{"b", "a"}) {
		t.Errorf("model_fallbacks = %q", d.ModelFallbacks)
	}
	dt := cfg.Channels.DingTalk
	if !dt.Enabled || dt.ClientID != "env-id" || dt.ClientSecret != "env-secret" || dt.ReasoningChannelID != "env-conv" {
		t.Errorf("dingtalk = %+v", dt)
	}
	if want := (StringList{"007", "user2", "user3"}); !slices.Equal(dt.AllowFrom, want) {
		t.Errorf("allow_from = %q, want %q", dt.AllowFrom, want)
	}
	if dt.GroupTrigger.MentionOnlyOrDefault() {
		t.Error("mention_only env false ignored")
	}
	if dt.APIBase != "http://127.0.0.1:9999" {
		t.Errorf("api_base = %q, want trailing slash removed", dt.APIBase)
	}
	if cfg.Gateway.Port != 2000 || cfg.Gateway.Host != "0.0.0.0" {
		t.Errorf("gateway = %+v", cfg.Gateway)
	}
}

func TestEnvSatisfiesRequiredFields(t *testing.T) {
	// Secrets kept out of the file entirely, as a deployment would.
	src := `{"model_list":[{"model_name":"m","model":"qwen/qwen-plus"}],"channels":{"dingtalk":{"enabled":true}}}`
	cfg, _ := mustParse(t, src, map[string]string{
		"PICOCLAW_CHANNELS_DINGTALK_CLIENT_ID":     "id",
		"PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET": "secret",
	})
	if cfg.Channels.DingTalk.ClientSecret != "secret" || cfg.Agents.Defaults.ModelName != "m" {
		t.Errorf("config = %+v", cfg)
	}
}

func TestEnvNamesDerivedFromStruct(t *testing.T) {
	names := EnvNames()
	for _, want := range []string{
		"PICOCLAW_AGENTS_DEFAULTS_WORKSPACE",
		"PICOCLAW_AGENTS_DEFAULTS_MODEL_NAME",
		"PICOCLAW_AGENTS_DEFAULTS_RESTRICT_TO_WORKSPACE",
		"PICOCLAW_AGENTS_DEFAULTS_SUBTURN_MAX_DEPTH",
		"PICOCLAW_CHANNELS_DINGTALK_CLIENT_ID",
		"PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET",
		"PICOCLAW_CHANNELS_DINGTALK_ALLOW_FROM",
		"PICOCLAW_CHANNELS_DINGTALK_GROUP_TRIGGER_MENTION_ONLY",
		"PICOCLAW_CHANNELS_DINGTALK_GROUP_TRIGGER_PREFIXES",
		"PICOCLAW_GATEWAY_PORT",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("EnvNames lacks %s", want)
		}
	}
	for _, n := range names {
		if strings.HasPrefix(n, "PICOCLAW_MODEL_LIST") || n == "PICOCLAW_VERSION" || strings.Contains(n, "CONTEXT_MANAGER_CONFIG") {
			t.Errorf("EnvNames has %s, which should not be overridable", n)
		}
	}
	// Every listed variable really changes the config: set each to a value
	// of its kind and check Parse notices (an error or a changed field).
	base, _ := mustParse(t, `{}`, nil)
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			cfg, _, err := Parse([]byte(`{}`), envFrom(map[string]string{n: "not-a-default-1"}))
			if err == nil && reflect.DeepEqual(cfg, base) {
				t.Errorf("%s had no effect", n)
			}
		})
	}
}
