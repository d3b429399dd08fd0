package config

import (
	"strings"
	"testing"
)

// Empty and placeholder keys are reported with their field path and the
// fix; models nothing calls and local protocols are left alone.
func TestCheckModelKeys(t *testing.T) {
	cfg := &Config{ModelList: []ModelConfig{
		{ModelName: "main", Model: "openai/gpt-4o-mini", APIKey: "sk-...", Fallbacks: []string{"backup"}},
		{ModelName: "backup", Model: "deepseek/deepseek-chat", APIKeys: []string{"sk-real", "sk-…"}},
		{ModelName: "empty", Model: "qwen/qwen-plus"},
		{ModelName: "local", Model: "ollama/llama3"},
		{ModelName: "unused", Model: "openai/gpt-4o"},
	}}
	cfg.Agents.Defaults.ModelName = "main"
	cfg.Agents.Defaults.ModelFallbacks = []string{"empty", "local"}
	err := cfg.CheckModelKeys("c.json")
	if err == nil {
		t.Fatal("placeholder and empty keys passed")
	}
	msg := err.Error()
	for _, want := range []string{
		`model_list[0].api_key: is the example placeholder "sk-...": put the API key of your openai account`,
		`model_list[1].api_keys[1]: is the example placeholder "sk-…"`,
		`model_list[2].api_key: is empty: put the API key of your qwen account`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	for _, not := range []string{"model_list[3]", "model_list[4]", "sk-real"} {
		if strings.Contains(msg, not) {
			t.Errorf("error mentions %s:\n%s", not, msg)
		}
	}
	cfg.ModelList[0].APIKey, cfg.ModelList[1].APIKeys, cfg.ModelList[2].APIKey = "sk-a", []string{"sk-b"}, "sk-c"
	if err := cfg.CheckModelKeys("c.json"); err != nil {
		t.Errorf("real keys rejected: %v", err)
	}
}

func TestCheckDingTalkPlaceholders(t *testing.T) {
	cfg, _, err := Parse([]byte(`{"agents":{"defaults":{"model_name":"m"}},
		"model_list":[{"model_name":"m","model":"openai/gpt-4o-mini","api_key":"sk-a"}],
		"channels":{"dingtalk":{"enabled":true,"client_id":"YOUR_CLIENT_ID","client_secret":"YOUR_CLIENT_SECRET"}}}`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	err = cfg.CheckDingTalk("c.json")
	if err == nil {
		t.Fatal("placeholder DingTalk credentials passed")
	}
	for _, want := range []string{`channels.dingtalk.client_id: is the example placeholder "YOUR_CLIENT_ID"`, `channels.dingtalk.client_secret: is the example placeholder`, "PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
