package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// PicoClaw's own example configs, byte for byte (see testdata/README.md),
// load unchanged: the DingTalk bot, the models and the agent defaults come
// out as PicoClaw would read them.
func TestPicoClawExampleConfigs(t *testing.T) {
	for _, tt := range []struct {
		tag, section, envSecret string
	}{
		{"v0.2.6", "channels.dingtalk", "PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET"},
		{"v0.2.7", "channels.dingtalk", "PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET"},
		{"v0.2.8", "channels.dingtalk", "PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET"},
		{"v0.2.9", "channel_list.dingtalk", "PICOCLAW_CHANNEL_LIST_DINGTALK_SETTINGS_CLIENT_SECRET"},
	} {
		t.Run(tt.tag, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "picoclaw-"+tt.tag+"-config.example.json"))
			if err != nil {
				t.Fatal(err)
			}
			cfg, warnings, err := Parse(data, envFrom(nil))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}

			if len(cfg.DingTalkBots) != 1 {
				t.Fatalf("bots = %+v, want exactly the example's one", cfg.DingTalkBots)
			}
			b := cfg.DingTalkBots[0]
			if b.Name != "dingtalk" || b.Section != tt.section {
				t.Errorf("bot %q from %q, want \"dingtalk\" from %q", b.Name, b.Section, tt.section)
			}
			if b.Enabled || b.ClientID != "YOUR_CLIENT_ID" || b.ClientSecret != "YOUR_CLIENT_SECRET" ||
				len(b.AllowFrom) != 0 || b.ReasoningChannelID != "" {
				t.Errorf("bot = %+v", b.DingTalkConfig)
			}
			if b.APIBase != DefaultDingTalkAPIBase || !b.GroupTrigger.MentionOnlyOrDefault() {
				t.Errorf("bot defaults: api_base %q, mention_only %v", b.APIBase, b.GroupTrigger.MentionOnlyOrDefault())
			}
			if cfg.Channels.DingTalk.ClientID != "YOUR_CLIENT_ID" {
				t.Errorf("Channels.DingTalk does not mirror the bot: %+v", cfg.Channels.DingTalk)
			}

			d := cfg.Agents.Defaults
			if d.Workspace != "/home/tester/.picoclaw/workspace" || d.ModelName != "gpt-5.4" || d.MaxTokens != 8192 ||
				d.ContextWindow != 131072 || d.MaxToolIterations != 20 || d.SummarizeMessageThreshold != 20 ||
				d.SummarizeTokenPercent != 75 || d.Temperature == nil || *d.Temperature != 0.7 || !*d.RestrictToWorkspace {
				t.Errorf("agent defaults = %+v", d)
			}
			ms := cfg.Models("gpt-5.4")
			if len(ms) != 1 || ms[0].Protocol() != "openai" || ms[0].ModelID() != "gpt-5.4" ||
				ms[0].BaseURL() != "https://api.openai.com/v1" || !slices.Equal(ms[0].Keys(), []string{"sk-your-openai-key"}) {
				t.Errorf("Models(gpt-5.4) = %+v", ms)
			}
			if ms := cfg.Models("deepseek"); len(ms) != 1 || ms[0].Model != "deepseek/deepseek-chat" {
				t.Errorf("Models(deepseek) = %+v", ms)
			}

			all := strings.Join(warnings, "\n")
			for _, bad := range []string{"newer than this build", "dingtalk", "YOUR_CLIENT_SECRET", "sk-your-openai-key"} {
				if strings.Contains(all, bad) {
					t.Errorf("warnings mention %q:\n%s", bad, all)
				}
			}
			// PicoClaw's own sections (other channels, all switched off
			// here, heartbeat, hardware tools, …) load silently.
			for _, noise := range []string{"unknown key", "not supported by this build"} {
				if strings.Contains(all, noise) {
					t.Errorf("warnings report PicoClaw's own keys (%q):\n%s", noise, all)
				}
			}

			// The documented variables turn the example into a working bot.
			cfg, _, err = Parse(data, envFrom(map[string]string{
				tt.envSecret:                          "env-secret",
				EnvName(tt.section + ".enabled"):      "true",
				EnvName(b.Path("client_id")):          "env-id",
				"PICOCLAW_AGENTS_DEFAULTS_MODEL_NAME": "deepseek",
			}))
			if err != nil {
				t.Fatalf("Parse with env: %v", err)
			}
			if err := cfg.CheckDingTalk("config.json"); err != nil {
				t.Errorf("CheckDingTalk: %v", err)
			}
			on := cfg.EnabledDingTalkBots()
			if len(on) != 1 || on[0].ClientID != "env-id" || on[0].ClientSecret != "env-secret" || cfg.Agents.Defaults.ModelName != "deepseek" {
				t.Errorf("enabled bots = %+v", on)
			}
		})
	}

	// v0.2.9 also lists a model under one name twice (load balancing).
	data, err := os.ReadFile(filepath.Join("testdata", "picoclaw-v0.2.9-config.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := mustParse(t, string(data), nil)
	if ms := cfg.Models("loadbalanced-gpt-5.4"); len(ms) != 2 || ms[0].APIBase == ms[1].APIBase {
		t.Errorf("Models(loadbalanced-gpt-5.4) = %+v", ms)
	}
}
