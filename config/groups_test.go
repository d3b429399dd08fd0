package config

import (
	"slices"
	"strings"
	"testing"
)

func TestGroupSettings(t *testing.T) {
	groups := `"group_allow_from": ["cidOps", "dingtalk:group:cidDev", "cidQuiet"],
	  "groups": {
	    "*":        {"mention_only": false, "prefixes": ["/ai"], "system_prompt": "Be brief."},
	    "cidOps":   {"mention_only": true, "allow_from": ["oncall"], "model_name": "big", "system_prompt": "You help the ops team."},
	    "cidDev":   {"prefixes": [], "allow_from": []},
	    "cidQuiet": {"enabled": false}
	  }`
	models := `"model_list":[{"model_name":"m","model":"qwen/qwen-plus"},{"model_name":"big","model":"qwen/qwen-max"}]`
	for _, layout := range []struct{ name, src string }{
		{"v0.2.6", `{` + models + `,"channels":{"dingtalk":{"allow_from":["boss"],` + groups + `}}}`},
		{"version 3", `{"version":3,` + models + `,"channel_list":{"d":{"type":"dingtalk","allow_from":["boss"],"settings":{` + groups + `}}}}`},
	} {
		t.Run(layout.name, func(t *testing.T) {
			cfg, warnings := mustParse(t, layout.src, nil)
			if len(warnings) != 0 {
				t.Errorf("warnings = %q", warnings)
			}
			dt := cfg.Channels.DingTalk
			for _, tt := range []struct {
				cid  string
				want EffectiveGroup
			}{
				{"cidOps", EffectiveGroup{Answered: true, MentionOnly: true, Prefixes: []string{"/ai"}, AllowFrom: []string{"oncall"},
					SystemPrompt: "You help the ops team.", ModelName: "big"}},
				// Empty lists inherit: they never open a group by accident.
				{"cidDev", EffectiveGroup{Answered: true, MentionOnly: false, Prefixes: []string{"/ai"}, AllowFrom: []string{"boss"}, SystemPrompt: "Be brief."}},
				{"cidQuiet", EffectiveGroup{Answered: false, MentionOnly: false, Prefixes: []string{"/ai"}, AllowFrom: []string{"boss"}, SystemPrompt: "Be brief."}},
				// Not in group_allow_from: never answered.
				{"cidOther", EffectiveGroup{Answered: false, MentionOnly: false, Prefixes: []string{"/ai"}, AllowFrom: []string{"boss"}, SystemPrompt: "Be brief."}},
			} {
				got := dt.Group(tt.cid)
				if got.Answered != tt.want.Answered || got.MentionOnly != tt.want.MentionOnly || !slices.Equal(got.Prefixes, tt.want.Prefixes) ||
					!slices.Equal(got.AllowFrom, tt.want.AllowFrom) || got.SystemPrompt != tt.want.SystemPrompt || got.ModelName != tt.want.ModelName {
					t.Errorf("Group(%s) = %+v\nwant %+v", tt.cid, got, tt.want)
				}
			}
		})
	}

	// Without group settings every group gets the bot's own settings.
	cfg, _ := mustParse(t, `{"channels":{"dingtalk":{"allow_from":["boss"],"group_trigger":{"mention_only":false,"prefixes":["/x"]}}}}`, nil)
	if g := cfg.Channels.DingTalk.Group("cidAny"); !g.Answered || g.MentionOnly || !slices.Equal(g.Prefixes, []string{"/x"}) || !slices.Equal(g.AllowFrom, []string{"boss"}) {
		t.Errorf("Group = %+v", g)
	}
	// "enabled": true on a group does not override group_allow_from, and
	// "*" can switch every group off but one.
	cfg, _ = mustParse(t, `{"channels":{"dingtalk":{"groups":{"*":{"enabled":false},"cidA":{"enabled":true}}}}}`, nil)
	if dt := cfg.Channels.DingTalk; !dt.Group("cidA").Answered || dt.Group("cidB").Answered {
		t.Errorf("cidA %+v, cidB %+v", dt.Group("cidA"), dt.Group("cidB"))
	}
}

func TestGroupSettingsErrors(t *testing.T) {
	models := `"model_list":[{"model_name":"m","model":"qwen/qwen-plus"}]`
	for _, tt := range []struct{ name, src, want string }{
		{"unknown model", `{` + models + `,"channels":{"dingtalk":{"groups":{"cidA":{"model_name":"nope"}}}}}`,
			`channels.dingtalk.groups.cidA.model_name: "nope" is not in model_list (known: m)`},
		{"unknown model v3", `{"version":3,` + models + `,"channel_list":{"d":{"type":"dingtalk","settings":{"groups":{"cidA":{"model_name":"nope"}}}}}}`,
			`channel_list.d.settings.groups.cidA.model_name: "nope" is not in model_list`},
		{"wrong type", `{"channels":{"dingtalk":{"groups":{"cidA":{"mention_only":"no"}}}}}`,
			`channels.dingtalk.groups.cidA.mention_only: expected a boolean, got string`},
		{"group not an object", `{"channels":{"dingtalk":{"groups":{"cidA":[]}}}}`,
			`channels.dingtalk.groups.cidA: expected an object, got array`},
		{"empty key", `{"channels":{"dingtalk":{"groups":{"":{}}}}}`, `channels.dingtalk.groups: has an empty key`},
		{"empty group id", `{"channels":{"dingtalk":{"group_allow_from":["cidA",""]}}}`, `channels.dingtalk.group_allow_from[1]: is empty`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.src), envFrom(nil))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}

	// A model only a group uses is checked like the default one.
	src := `{"model_list":[{"model_name":"m","model":"qwen/qwen-plus"},{"model_name":"odd","model":"venice/x"}],
	  "channels":{"dingtalk":{"groups":{"cidA":{"model_name":"odd"}}}}}`
	if _, _, err := Parse([]byte(src), envFrom(nil)); err == nil || !strings.Contains(err.Error(), `model_list[1].model: unknown protocol "venice"`) {
		t.Errorf("err = %v, want the group's model checked", err)
	}
	// A group outside group_allow_from is reported, and unknown keys too.
	_, warnings := mustParse(t, `{"channels":{"dingtalk":{"group_allow_from":["cidA"],"groups":{"cidB":{"requireMention":true}}}}}`, nil)
	for _, want := range []string{
		"config: channels.dingtalk.groups.cidB: the group is not in channels.dingtalk.group_allow_from, so it is never answered",
		`config: unknown key "channels.dingtalk.groups.cidB.requireMention" (ignored)`,
	} {
		if !slices.Contains(warnings, want) {
			t.Errorf("warnings lack %q; got %q", want, warnings)
		}
	}
	// group_allow_from from the environment, comma-separated.
	cfg, _ := mustParse(t, `{}`, map[string]string{"PICOCLAW_CHANNELS_DINGTALK_GROUP_ALLOW_FROM": "cidA, cidB"})
	if dt := cfg.Channels.DingTalk; !dt.Group("cidB").Answered || dt.Group("cidC").Answered {
		t.Errorf("group_allow_from from env = %q", dt.GroupAllowFrom)
	}
}

// Off names the key that leaves a group unanswered, for `status --group`.
func TestGroupOff(t *testing.T) {
	cfg, _ := mustParse(t, `{"channels":{"dingtalk":{"group_allow_from":["cidA","cidB","cidC"],
	  "groups":{"*":{"enabled":false},"cidA":{"enabled":true},"cidC":{"mention_only":false}}}}}`, nil)
	dt := cfg.Channels.DingTalk
	for cid, want := range map[string]string{"cidA": "", "cidB": "groups.*.enabled", "cidC": "groups.*.enabled", "cidD": "group_allow_from"} {
		if g := dt.Group(cid); g.Off != want || g.Answered != (want == "") {
			t.Errorf("Group(%s): Answered %v, Off %q; want Off %q", cid, g.Answered, g.Off, want)
		}
	}
	cfg, _ = mustParse(t, `{"channels":{"dingtalk":{"groups":{"cidA":{"enabled":false}}}}}`, nil)
	if g := cfg.Channels.DingTalk.Group("cidA"); g.Off != "groups.cidA.enabled" {
		t.Errorf("Off = %q", g.Off)
	}
}
