package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const v3Models = `"model_list":[{"model_name":"m","model":"qwen/qwen-plus"}]`

// botNames lists the bots' names in order.
func botNames(c *Config) []string {
	var names []string
	for _, b := range c.DingTalkBots {
		names = append(names, b.Name)
	}
	return names
}

func TestVersion3SeveralBots(t *testing.T) {
	// Keys deliberately out of alphabetical order: file order decides
	// which bot is first.
	src := `{"version": 3, ` + v3Models + `, "channel_list": {
	  "zeta":  {"enabled": false, "type": "dingtalk", "settings": {"client_id": "z-id", "client_secret": "z-secret"}},
	  "work":  {"enabled": true, "type": "dingtalk", "allow_from": ["staff1", 42],
	            "group_trigger": {"mention_only": false, "prefixes": ["/ai"]}, "reasoning_channel_id": "cidR",
	            "settings": {"client_id": "w-id", "client_secret": "w-secret", "api_base": "http://127.0.0.1:9/",
	                         "chat_limit": 5, "chat_window_seconds": 2, "reply_at_sender": false}},
	  "alpha": {"enabled": true, "settings": {"client_id": "a-id", "client_secret": "a-secret"}},
	  "tg":    {"enabled": true, "type": "telegram", "settings": {"token": "t"}}
	}}`
	cfg, warnings := mustParse(t, src, nil)
	if got, want := botNames(cfg), []string{"zeta", "work"}; !slices.Equal(got, want) {
		// "alpha" has no type: PicoClaw takes the key, "alpha", which is
		// not dingtalk.
		t.Fatalf("bots = %q, want %q", got, want)
	}
	for _, want := range []string{
		`config: channel_list.alpha: channel type "alpha" is not supported by this build (ignored)`,
		`config: channel_list.tg: channel type "telegram" is not supported by this build (ignored)`,
	} {
		if !slices.Contains(warnings, want) {
			t.Errorf("warnings lack %q; got %q", want, warnings)
		}
	}
	w := cfg.DingTalkBots[1]
	if w.Section != "channel_list.work" || w.ClientID != "w-id" || w.ClientSecret != "w-secret" ||
		!slices.Equal(w.AllowFrom, StringList{"staff1", "42"}) || w.ReasoningChannelID != "cidR" ||
		w.GroupTrigger.MentionOnlyOrDefault() || !slices.Equal(w.GroupTrigger.Prefixes, []string{"/ai"}) ||
		w.APIBase != "http://127.0.0.1:9" || w.ChatLimit != 5 || w.ChatWindowSeconds != 2 ||
		w.ReplyAtSender == nil || *w.ReplyAtSender {
		t.Errorf("work bot = %+v", w)
	}
	if z := cfg.DingTalkBots[0]; z.APIBase != DefaultDingTalkAPIBase || !z.GroupTrigger.MentionOnlyOrDefault() {
		t.Errorf("zeta defaults = %+v", z)
	}
	// The gateway runs the first enabled bot; Channels.DingTalk is it.
	if on := cfg.EnabledDingTalkBots(); len(on) != 1 || on[0].Name != "work" {
		t.Errorf("enabled = %+v", on)
	}
	if cfg.Channels.DingTalk.ClientID != "w-id" || !cfg.Channels.DingTalk.Enabled {
		t.Errorf("Channels.DingTalk = %+v, want the work bot", cfg.Channels.DingTalk)
	}
	if all := strings.Join(warnings, "\n"); strings.Contains(all, "secret") || strings.Contains(all, "unknown key") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestVersion3Env(t *testing.T) {
	two := `{"version":3,` + v3Models + `,"channel_list":{
	  "work-bot":{"type":"dingtalk","settings":{"client_id":"file-id"}},
	  "home":{"type":"dingtalk"}}}`
	cfg, _ := mustParse(t, two, map[string]string{
		"PICOCLAW_CHANNEL_LIST_WORK_BOT_ENABLED":                "true",
		"PICOCLAW_CHANNEL_LIST_WORK_BOT_SETTINGS_CLIENT_SECRET": "env-secret",
		"PICOCLAW_CHANNEL_LIST_WORK_BOT_ALLOW_FROM":             "a，b",
		"PICOCLAW_CHANNEL_LIST_HOME_SETTINGS_CLIENT_ID":         "home-id",
		// With two bots the v0.2.6 variables would be ambiguous: unused.
		"PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET": "legacy",
	})
	wb, home := cfg.DingTalkBots[0], cfg.DingTalkBots[1]
	if !wb.Enabled || wb.ClientID != "file-id" || wb.ClientSecret != "env-secret" || !slices.Equal(wb.AllowFrom, StringList{"a", "b"}) {
		t.Errorf("work-bot = %+v", wb)
	}
	if home.Enabled || home.ClientID != "home-id" || home.ClientSecret != "" {
		t.Errorf("home = %+v", home)
	}
	if err := cfg.CheckDingTalk("c.json"); err != nil {
		t.Errorf("CheckDingTalk: %v", err)
	}

	// One bot: the v0.2.6 variables reach it, its own variables win.
	one := `{"version":3,` + v3Models + `,"channel_list":{"dingtalk":{"type":"dingtalk","enabled":true}}}`
	cfg, _ = mustParse(t, one, map[string]string{
		"PICOCLAW_CHANNELS_DINGTALK_CLIENT_ID":                  "legacy-id",
		"PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET":              "legacy-secret",
		"PICOCLAW_CHANNEL_LIST_DINGTALK_SETTINGS_CLIENT_SECRET": "own-secret",
		"PICOCLAW_CHANNELS_DINGTALK_REASONING_CHANNEL_ID":       "cidR",
	})
	if b := cfg.DingTalkBots[0]; b.ClientID != "legacy-id" || b.ClientSecret != "own-secret" || b.ReasoningChannelID != "cidR" {
		t.Errorf("bot = %+v", b)
	}

	// A bad value names the variable and never echoes a secret.
	_, _, err := Parse([]byte(one), envFrom(map[string]string{"PICOCLAW_CHANNEL_LIST_DINGTALK_SETTINGS_CHAT_LIMIT": "many"}))
	if err == nil || !strings.Contains(err.Error(), "PICOCLAW_CHANNEL_LIST_DINGTALK_SETTINGS_CHAT_LIMIT: expected an integer") {
		t.Errorf("err = %v", err)
	}
}

func TestVersion3Errors(t *testing.T) {
	const secret = "s3cr3t-value-never-shown"
	for _, tt := range []struct {
		name, entry string
		want        []string
	}{
		{"bad api_base", `"settings":{"api_base":"api.dingtalk.com"}`,
			[]string{"channel_list.work.settings.api_base: must be an http:// or https:// URL with a host"}},
		{"window over a day", `"settings":{"chat_window_seconds":100000}`,
			[]string{"channel_list.work.settings.chat_window_seconds: must be at most 86400 seconds"}},
		{"negative limit", `"settings":{"chat_limit":-1}`,
			[]string{"channel_list.work.settings.chat_limit: must not be negative"}},
		{"wrong type", `"enabled":"yes"`,
			[]string{"channel_list.work.enabled: expected a boolean, got string"}},
		{"secret of wrong type", `"settings":{"client_secret":12345}`,
			[]string{"channel_list.work.settings.client_secret: expected a string, got number"}},
		{"secret reference", `"settings":{"client_secret":"enc://` + secret + `"}`,
			[]string{"channel_list.work.settings.client_secret: enc:// and file:// references are not supported"}},
		{"secret twice", `"client_secret":"` + secret + `","settings":{"client_secret":"` + secret + `x"}`,
			[]string{"channel_list.work.client_secret: also set at channel_list.work.settings.client_secret; keep one"}},
		{"allow list twice", `"allow_from":["a"],"settings":{"allow_from":["b"]}`,
			[]string{"channel_list.work.settings.allow_from: also set at channel_list.work.allow_from; keep one"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := `{"version":3,` + v3Models + `,"channel_list":{"work":{"type":"dingtalk",` + tt.entry + `}}}`
			_, _, err := Parse([]byte(src), envFrom(nil))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *config.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("err leaks the secret: %q", err)
			}
		})
	}

	// The gateway's check names the v3 paths and variables.
	src := `{"version":3,` + v3Models + `,"channel_list":{"work":{"type":"dingtalk","enabled":true,"settings":{"client_id":"id"}}}}`
	cfg, _ := mustParse(t, src, nil)
	err := cfg.CheckDingTalk("/p/config.json")
	want := "config: /p/config.json: channel_list.work.settings.client_secret: required when channel_list.work.enabled is true (or set PICOCLAW_CHANNEL_LIST_WORK_SETTINGS_CLIENT_SECRET)"
	if err == nil || err.Error() != want {
		t.Errorf("CheckDingTalk = %v\nwant %s", err, want)
	}
	// And model_name is required once a bot is enabled.
	_, _, err = Parse([]byte(`{"version":3,"channel_list":{"work":{"type":"dingtalk","enabled":true}}}`), envFrom(nil))
	if err == nil || !strings.Contains(err.Error(), "agents.defaults.model_name: required when channel_list.work.enabled is true") {
		t.Errorf("err = %v", err)
	}
}

// Keys written where PicoClaw's docs show them (client_id beside enabled)
// or where an older brief put them (allow_from under settings) are used,
// with a warning, rather than silently dropped: a dropped allow list
// would open the bot to everyone.
func TestVersion3MisplacedKeys(t *testing.T) {
	src := `{"version":3,` + v3Models + `,"channel_list":{"dingtalk":{"type":"dingtalk","enabled":true,
	  "client_id":"id","client_secret":"secret","allow_from":[],
	  "settings":{"allow_from":["boss"],"group_trigger":{"prefixes":["/ai"]},"client_id":""}}}}`
	cfg, warnings := mustParse(t, src, nil)
	b := cfg.DingTalkBots[0]
	if b.ClientID != "id" || b.ClientSecret != "secret" || !slices.Equal(b.AllowFrom, StringList{"boss"}) || !slices.Equal(b.GroupTrigger.Prefixes, []string{"/ai"}) {
		t.Errorf("bot = %+v", b)
	}
	for _, want := range []string{
		"config: channel_list.dingtalk.client_id belongs at channel_list.dingtalk.settings.client_id (where PicoClaw reads it); used from there",
		"config: channel_list.dingtalk.settings.allow_from belongs at channel_list.dingtalk.allow_from (where PicoClaw reads it); used from there",
	} {
		if !slices.Contains(warnings, want) {
			t.Errorf("warnings lack %q; got %q", want, warnings)
		}
	}
	if strings.Contains(strings.Join(warnings, "\n"), `"secret"`) {
		t.Errorf("warnings leak the secret: %q", warnings)
	}
}

// PicoClaw's migration rules for configs older than version 3.
func TestLegacyMigrationRules(t *testing.T) {
	for _, tt := range []struct {
		name, src       string
		wantMentionOnly bool
		wantPrefixes    []string
		wantWarning     string
	}{
		{"v1 mention_only moves into group_trigger",
			`{"version":1,"channels":{"dingtalk":{"mention_only":false,"group_trigger":{"mention_only":true}}}}`, false, nil, ""},
		{"no version counts as 0",
			`{"channels":{"dingtalk":{"mention_only":false}}}`, false, nil, ""},
		{"v2 mention_only is not a key any more",
			`{"version":2,"channels":{"dingtalk":{"mention_only":false}}}`, true, nil, `config: unknown key "channels.dingtalk.mention_only" (ignored)`},
		{"group_trigger_prefix becomes prefixes",
			`{"version":2,"channels":{"dingtalk":{"group_trigger_prefix":["/bot"]}}}`, true, []string{"/bot"}, ""},
		{"prefixes already set win",
			`{"version":2,"channels":{"dingtalk":{"group_trigger_prefix":["/bot"],"group_trigger":{"prefixes":["/ai"]}}}}`, true, []string{"/ai"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, warnings := mustParse(t, tt.src, nil)
			gt := cfg.DingTalkBots[0].GroupTrigger
			if gt.MentionOnlyOrDefault() != tt.wantMentionOnly || !slices.Equal(gt.Prefixes, tt.wantPrefixes) {
				t.Errorf("group_trigger = %v %q, want %v %q", gt.MentionOnlyOrDefault(), gt.Prefixes, tt.wantMentionOnly, tt.wantPrefixes)
			}
			if tt.wantWarning != "" && !slices.Contains(warnings, tt.wantWarning) {
				t.Errorf("warnings lack %q; got %q", tt.wantWarning, warnings)
			}
			if tt.wantWarning == "" && len(warnings) > 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
		})
	}
}

func TestBothLayouts(t *testing.T) {
	body := `"channels":{"dingtalk":{"client_id":"old"}},"channel_list":{"new":{"type":"dingtalk","settings":{"client_id":"new"}}}}`
	cfg, warnings := mustParse(t, `{"version":3,`+body, nil)
	if got := botNames(cfg); !slices.Equal(got, []string{"new"}) {
		t.Errorf("version 3: bots = %q, want channel_list's", got)
	}
	if !slices.Contains(warnings, "config: channels.dingtalk is ignored: a version 3 config reads its bots from channel_list") {
		t.Errorf("warnings = %q", warnings)
	}
	// PicoClaw's migration of an older file replaces channel_list.
	cfg, warnings = mustParse(t, `{"version":2,`+body, nil)
	if b := cfg.DingTalkBots; len(b) != 1 || b[0].Name != "dingtalk" || b[0].ClientID != "old" {
		t.Errorf("version 2: bots = %+v, want channels.dingtalk's", b)
	}
	if !slices.Contains(warnings, `config: channel_list is ignored: a version 2 config reads channels.dingtalk (set "version": 3 to use channel_list)`) {
		t.Errorf("warnings = %q", warnings)
	}
	// channels.dingtalk alone loads whatever the version says.
	cfg, _ = mustParse(t, `{"version":3,"channels":{"dingtalk":{"client_id":"old"}}}`, nil)
	if b := cfg.DingTalkBots; len(b) != 1 || b[0].ClientID != "old" {
		t.Errorf("bots = %+v", b)
	}
	_, warnings = mustParse(t, `{"providers":{"openai":{"api_key":"k"}}}`, nil)
	if !strings.Contains(strings.Join(warnings, "\n"), "providers is the pre-model_list layout") {
		t.Errorf("warnings = %q", warnings)
	}
	_, warnings = mustParse(t, `{"version":4}`, nil)
	if !slices.Contains(warnings, "config: version 4 is newer than this build reads (3); unknown keys are ignored") {
		t.Errorf("warnings = %q", warnings)
	}
}

func TestVersion3PermWarning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	src := `{"version":3,"channel_list":{"d":{"type":"dingtalk","settings":{"client_secret":"x"}}}}`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, warnings, err := Load(path, envFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(warnings, "\n"), "holds secrets and is readable by group or others") {
		t.Errorf("warnings = %q, want the mode warning for a secret under settings", warnings)
	}
}

// The README's version 3 example, verbatim.
func TestReadmeVersion3Example(t *testing.T) {
	src := `{
  "version": 3,
  "agents": {"defaults": {"workspace": "~/.picoclaw/workspace", "model_name": "gpt"}},
  "model_list": [{"model_name": "gpt", "model": "openai/gpt-4o-mini", "api_keys": ["sk-…"]}],
  "channel_list": {
    "dingtalk": {
      "enabled": true, "type": "dingtalk",
      "allow_from": [], "group_trigger": {"mention_only": true}, "reasoning_channel_id": "",
      "settings": {"client_id": "YOUR_CLIENT_ID", "client_secret": "YOUR_CLIENT_SECRET"}
    }
  }
}`
	cfg, warnings := mustParse(t, src, nil)
	if len(warnings) != 0 {
		t.Errorf("warnings = %q", warnings)
	}
	// It parses, but its placeholders stop the gateway, each named.
	err := errors.Join(cfg.CheckDingTalk("config.json"), cfg.CheckModelKeys("config.json"))
	for _, want := range []string{"settings.client_id: is the example placeholder", "settings.client_secret: is the example placeholder", "model_list[0].api_keys[0]: is the example placeholder"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checks of the README example: %v; want %q", err, want)
		}
	}
	if b := cfg.Channels.DingTalk; !b.Enabled || b.ClientID != "YOUR_CLIENT_ID" || b.ClientSecret != "YOUR_CLIENT_SECRET" {
		t.Errorf("bot = %+v", b)
	}
}
