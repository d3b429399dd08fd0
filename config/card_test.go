package config

import (
	"strings"
	"testing"
	"time"
)

// card_template_id and card_update_ms are read in both generations of
// the file; an unset interval is 300 ms.
func TestCardSettings(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		tpl       string
		every     time.Duration
	}{
		{"v0.2.6 default", `{` + v3Models + `, "channels": {"dingtalk": {"enabled": true, "client_id": "id", "client_secret": "s"}}}`, "", 300 * time.Millisecond},
		{"v0.2.6 set", `{` + v3Models + `, "channels": {"dingtalk": {"enabled": true, "client_id": "id", "client_secret": "s",
			"card_template_id": "abc.schema", "card_update_ms": 500}}}`, "abc.schema", 500 * time.Millisecond},
		{"version 3", `{"version": 3, ` + v3Models + `, "channel_list": {"d": {"enabled": true, "type": "dingtalk",
			"settings": {"client_id": "id", "client_secret": "s", "card_template_id": "v3.schema", "card_update_ms": 1000}}}}`, "v3.schema", time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _ := mustParse(t, tc.src, nil)
			dt := cfg.Channels.DingTalk
			if dt.CardTemplateID != tc.tpl || dt.CardUpdateInterval() != tc.every {
				t.Errorf("card_template_id %q every %v; want %q every %v", dt.CardTemplateID, dt.CardUpdateInterval(), tc.tpl, tc.every)
			}
		})
	}
}

func TestCardSettingsErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"negative interval", `{` + v3Models + `, "channels": {"dingtalk": {"card_update_ms": -1}}}`,
			"channels.dingtalk.card_update_ms: must be between 0 and 60000"},
		{"v3 interval too long", `{"version": 3, ` + v3Models + `, "channel_list": {"d": {"type": "dingtalk", "settings": {"card_update_ms": 70000}}}}`,
			"channel_list.d.settings.card_update_ms: must be between 0 and 60000"},
		{"spaces in template", `{` + v3Models + `, "channels": {"dingtalk": {"card_template_id": " abc "}}}`,
			"channels.dingtalk.card_template_id: has leading or trailing spaces"},
		{"template of wrong type", `{` + v3Models + `, "channels": {"dingtalk": {"card_template_id": 5}}}`,
			"channels.dingtalk.card_template_id: expected a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tc.src), envFrom(nil))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCardSettingsFromEnv(t *testing.T) {
	src := `{` + v3Models + `, "channels": {"dingtalk": {"enabled": true, "client_id": "id", "client_secret": "s"}}}`
	cfg, _ := mustParse(t, src, map[string]string{"PICOCLAW_CHANNELS_DINGTALK_CARD_TEMPLATE_ID": "env.schema",
		"PICOCLAW_CHANNELS_DINGTALK_CARD_UPDATE_MS": "250"})
	if dt := cfg.Channels.DingTalk; dt.CardTemplateID != "env.schema" || dt.CardUpdateMs != 250 {
		t.Errorf("from env: %q %d", dt.CardTemplateID, dt.CardUpdateMs)
	}
}
