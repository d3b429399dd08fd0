package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `status --group` prints what each bot applies in one group: its own
// entry, "*" and the bot's settings merged, and why a group is not
// answered.
func TestStatusGroup(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{allowFrom: []string{"boss"}})
	h.editConfig(func(cfg, dt map[string]any) {
		cfg["model_list"] = append(cfg["model_list"].([]any), map[string]any{
			"model_name": "big", "model": "openai/big-model", "api_base": "http://127.0.0.1:1", "api_keys": []string{"sk-other"}})
		dt["group_allow_from"] = []string{"cidOps", "cidDev", "cidOff"}
		dt["groups"] = map[string]any{
			"*":      map[string]any{"mention_only": false, "prefixes": []string{"/ai"}},
			"cidOps": map[string]any{"allow_from": []string{"oncall", "lead"}, "model_name": "big", "system_prompt": "You help the ops team.\nBe terse.\nNo emoji."},
			"cidOff": map[string]any{"enabled": false},
		}
	})
	tests := []struct {
		group string
		want  []string
	}{
		{"cidOps", []string{"group:     cidOps", "  bot dingtalk:", "answered:      yes", "mention_only:  false", "prefixes:      /ai",
			"allow_from:    oncall, lead", "system_prompt: You help the ops team. (+2 more lines)", "model:         big → openai/big-model"}},
		{"dingtalk:group:cidDev", []string{"group:     cidDev", "answered:      yes", "allow_from:    boss", "system_prompt: (none)",
			"model:         gpt → openai/gpt-4o-mini (agents.defaults.model_name)"}},
		{"cidOff", []string{"answered:      no (channels.dingtalk.groups.cidOff.enabled)"}},
		{"cidElse", []string{"answered:      no (channels.dingtalk.group_allow_from)"}},
	}
	for _, tt := range tests {
		t.Run(tt.group, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, "", "status", "--config", h.cfgPath, "--group", tt.group)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("status lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "sk-other") {
				t.Error("status printed an api key")
			}
		})
	}
	if code, _, errOut := runCLI(t, nil, "", "status", "--config", h.cfgPath, "--group", " "); code == 0 || !strings.Contains(errOut, "--group needs a group's conversation id") {
		t.Errorf("--group with no id: exit %d, %q", code, errOut)
	}
}

// With several bots, each one's settings for the group are listed.
func TestStatusGroupSeveralBots(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	text := `{"version": 3,
	  "agents": {"defaults": {"workspace": "` + filepath.Join(dir, "ws") + `", "data_dir": "` + filepath.Join(dir, "data") + `", "model_name": "gpt"}},
	  "model_list": [{"model_name": "gpt", "model": "openai/gpt-4o-mini", "api_keys": ["sk-1"]}],
	  "channel_list": {
	    "work": {"type": "dingtalk", "enabled": true, "settings": {"client_id": "a", "client_secret": "b", "group_allow_from": ["cidOther"]}},
	    "home": {"type": "dingtalk", "enabled": true, "group_trigger": {"mention_only": false}, "settings": {"client_id": "c", "client_secret": "d"}}
	  }}`
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, nil, "", "status", "--config", path, "--group", "cidX")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, bots, ok := strings.Cut(out, "  bot work:")
	work, home, ok2 := strings.Cut(bots, "  bot home:")
	ok = ok && ok2
	if !ok || !strings.Contains(work, "answered:      no (channel_list.work.settings.group_allow_from)") ||
		!strings.Contains(home, "answered:      yes") || !strings.Contains(home, "mention_only:  false") {
		t.Errorf("status:\n%s", out)
	}
}
