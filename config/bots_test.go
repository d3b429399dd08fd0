package config

import (
	"strings"
	"testing"
)

func TestBotChannelNames(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want map[string]string // bot name → channel name
	}{
		{"v0.2.6 channels.dingtalk", `{"agents":{"defaults":{"model_name":"m"}},` + v3Models + `,
		  "channels":{"dingtalk":{"enabled":true}}}`, map[string]string{"dingtalk": "dingtalk"}},
		{"one v3 bot keeps the single-bot keys whatever its name", `{"version":3,` + v3Models + `,
		  "channel_list":{"work":{"enabled":true,"type":"dingtalk"}}}`, map[string]string{"work": "dingtalk"}},
		{"several: the bot named dingtalk keeps them, the others carry their names", `{"version":3,` + v3Models + `,
		  "channel_list":{"work":{"enabled":true,"type":"dingtalk"},"dingtalk":{"enabled":false,"type":"dingtalk"},
		                  "home_2":{"enabled":true,"type":"dingtalk"}}}`,
			map[string]string{"work": "dingtalk-work", "dingtalk": "dingtalk", "home_2": "dingtalk-home_2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := mustParse(t, tt.src, nil)
			if len(cfg.DingTalkBots) != len(tt.want) {
				t.Fatalf("bots = %q", botNames(cfg))
			}
			for _, b := range cfg.DingTalkBots {
				got := cfg.ChannelName(b)
				if got != tt.want[b.Name] {
					t.Errorf("ChannelName(%s) = %q, want %q", b.Name, got, tt.want[b.Name])
				}
				if back, ok := cfg.DingTalkBotByChannel(got); !ok || back.Name != b.Name {
					t.Errorf("DingTalkBotByChannel(%q) = %q, %v", got, back.Name, ok)
				}
			}
		})
	}
}

func TestBotModelName(t *testing.T) {
	src := `{"version":3,"agents":{"defaults":{"model_name":"m"}},
	  "model_list":[{"model_name":"m","model":"qwen/qwen-plus"},{"model_name":"big","model":"qwen/qwen-max"}],
	  "channel_list":{"work":{"type":"dingtalk","settings":{"model_name":"big"}},"home":{"type":"dingtalk"}}}`
	cfg, _ := mustParse(t, src, map[string]string{"PICOCLAW_CHANNEL_LIST_HOME_SETTINGS_MODEL_NAME": "m"})
	if cfg.DingTalkBots[0].ModelName != "big" || cfg.DingTalkBots[1].ModelName != "m" {
		t.Errorf("model names = %q, %q", cfg.DingTalkBots[0].ModelName, cfg.DingTalkBots[1].ModelName)
	}
	_, _, err := Parse([]byte(strings.Replace(src, `"model_name":"big"}`, `"model_name":"huge"}`, 1)), envFrom(nil))
	if err == nil || !strings.Contains(err.Error(), `channel_list.work.settings.model_name: "huge" is not in model_list`) {
		t.Errorf("unknown bot model: %v", err)
	}
}

func TestBotNamesAndAppsChecked(t *testing.T) {
	src := `{"version":3,` + v3Models + `,"channel_list":{
	  "my bot":{"enabled":true,"type":"dingtalk","settings":{"client_id":"a","client_secret":"s"}},
	  "two":{"enabled":true,"type":"dingtalk","settings":{"client_id":"a","client_secret":"s2"}}}}`
	_, _, err := Parse([]byte(src), envFrom(nil))
	if err == nil || !strings.Contains(err.Error(), "channel_list.my bot: a DingTalk bot's name may hold only letters, digits") {
		t.Fatalf("bad name: %v", err)
	}
	cfg, _ := mustParse(t, strings.Replace(src, "my bot", "one", 1), nil)
	err = cfg.CheckDingTalk("/p/config.json")
	if err == nil || !strings.Contains(err.Error(), "channel_list.two.settings.client_id: is the same app as channel_list.one.settings.client_id") {
		t.Errorf("same app twice: %v", err)
	}
	if strings.Contains(err.Error(), "s2") {
		t.Errorf("error shows a secret: %v", err)
	}
}

// A bot's own workspace: "~" expands, the default's path means none of
// its own, and workspaces holding one another (or the data dir) are
// refused, naming the key.
func TestBotWorkspace(t *testing.T) {
	bot := func(ws string) string {
		return `{"version":3,` + v3Models + `,"agents":{"defaults":{"workspace":"/srv/pc/ws","data_dir":"/srv/pc/data"}},"channel_list":{
		  "a":{"enabled":true,"type":"dingtalk","settings":{"client_id":"a","client_secret":"s"}},
		  "b":{"enabled":true,"type":"dingtalk","settings":{"client_id":"b","client_secret":"s2","workspace":"` + ws + `"}}}}`
	}
	cfg, _ := mustParse(t, bot("~/sales"), map[string]string{"HOME": "/home/u"})
	b := cfg.DingTalkBots[1]
	if b.Workspace != "/home/u/sales" || cfg.BotWorkspace(b) != "/home/u/sales" || cfg.BotWorkspace(cfg.DingTalkBots[0]) != "/srv/pc/ws" {
		t.Errorf("workspaces %q / %q", cfg.BotWorkspace(cfg.DingTalkBots[0]), b.Workspace)
	}
	cfg, _ = mustParse(t, bot("/srv/pc/ws"), nil)
	if cfg.DingTalkBots[1].Workspace != "" {
		t.Errorf("the default workspace named again = %q, want none of its own", cfg.DingTalkBots[1].Workspace)
	}
	for ws, want := range map[string]string{
		"/srv/pc/ws/sales":   "hold one another",
		"/srv/pc":            "hold one another",
		"/srv/pc/data/sales": "outside agents.defaults.data_dir",
	} {
		_, _, err := Parse([]byte(bot(ws)), envFrom(nil))
		if err == nil || !strings.Contains(err.Error(), "channel_list.b.settings.workspace") || !strings.Contains(err.Error(), want) {
			t.Errorf("workspace %s: %v, want an error naming the key and %q", ws, err, want)
		}
	}
}

// PicoClaw's agents.list and bindings: a bot bound to an agent, or naming
// one in settings.agent, takes the agent's workspace and model unless it
// names its own; an unknown agent or an agent's unknown model is an error
// naming where it came from.
func TestBotAgents(t *testing.T) {
	doc := func(extra, salesSettings string) string {
		return `{"version":3,` + v3Models + `,"agents":{"defaults":{"workspace":"/srv/pc/ws","data_dir":"/srv/pc/data"},
		  "list":[{"id":"main","default":true},{"id":"sales","workspace":"/srv/pc/sales","model":{"primary":"m","fallbacks":[]}}]}` + extra + `,
		  "channel_list":{
		  "a":{"enabled":true,"type":"dingtalk","settings":{"client_id":"a","client_secret":"s"}},
		  "b":{"enabled":true,"type":"dingtalk","settings":{"client_id":"b","client_secret":"s2"` + salesSettings + `}}}}`
	}
	for name, src := range map[string]string{
		"settings.agent": doc("", `,"agent":"sales"`),
		"binding":        doc(`,"bindings":[{"agent_id":"sales","match":{"channel":"b"}},{"agent_id":"main","match":{"channel":"a","peer":{"kind":"direct","id":"x"}}}]`, ""),
	} {
		cfg, _ := mustParse(t, src, nil)
		a, b := cfg.DingTalkBots[0], cfg.DingTalkBots[1]
		if b.Workspace != "/srv/pc/sales" || b.ModelName != "m" || a.Workspace != "" || a.ModelName != "" {
			t.Errorf("%s: bot a %q/%q, bot b %q/%q; want only b on the sales agent", name, a.Workspace, a.ModelName, b.Workspace, b.ModelName)
		}
	}
	cfg, _ := mustParse(t, doc("", `,"agent":"sales","workspace":"/srv/pc/own"`), nil)
	if ws := cfg.DingTalkBots[1].Workspace; ws != "/srv/pc/own" {
		t.Errorf("the bot's own workspace = %q, want it to win over the agent's", ws)
	}
	_, _, err := Parse([]byte(doc("", `,"agent":"support"`)), envFrom(nil))
	if err == nil || !strings.Contains(err.Error(), `channel_list.b.settings.agent: names agent "support", which agents.list does not hold (known: main, sales)`) {
		t.Errorf("unknown agent: %v", err)
	}
	bad := strings.Replace(doc("", `,"agent":"sales"`), `"primary":"m"`, `"primary":"nope"`, 1)
	_, _, err = Parse([]byte(bad), envFrom(nil))
	if err == nil || !strings.Contains(err.Error(), `agents.list[1].model: "nope" is not in model_list`) {
		t.Errorf("agent's unknown model: %v", err)
	}
}
