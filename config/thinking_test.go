package config

import "testing"

// thinking_reaction defaults to true and can be turned off in both
// generations of the file.
func TestThinkingReaction(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      bool
	}{
		{"v0.2.6 default", `{` + v3Models + `, "channels": {"dingtalk": {"enabled": true, "client_id": "id", "client_secret": "s"}}}`, true},
		{"v0.2.6 off", `{` + v3Models + `, "channels": {"dingtalk": {"enabled": true, "client_id": "id", "client_secret": "s", "thinking_reaction": false}}}`, false},
		{"version 3 off", `{"version": 3, ` + v3Models + `, "channel_list": {"d": {"enabled": true, "type": "dingtalk",
			"settings": {"client_id": "id", "client_secret": "s", "thinking_reaction": false}}}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := mustParse(t, tc.src, nil)
			if got := cfg.Channels.DingTalk.ThinkingReactionOrDefault(); got != tc.want {
				t.Errorf("thinking reaction = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestThinkingReactionFromEnv(t *testing.T) {
	src := `{` + v3Models + `, "channels": {"dingtalk": {"enabled": true, "client_id": "id", "client_secret": "s"}}}`
	cfg, _ := mustParse(t, src, map[string]string{"PICOCLAW_CHANNELS_DINGTALK_THINKING_REACTION": "false"})
	if cfg.Channels.DingTalk.ThinkingReactionOrDefault() {
		t.Error("PICOCLAW_CHANNELS_DINGTALK_THINKING_REACTION=false left the reaction on")
	}
}
