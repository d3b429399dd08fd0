package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"picoclaw/dingtalk/dingtalktest"
)

// A version 3 config (PicoClaw v0.2.7 and later: channel_list, credentials
// under settings) runs the gateway. Both enabled bots run; the second,
// an app the fake does not know, is refused, and the first one answers
// regardless (see bots_e2e_test.go for two working bots).
func TestGatewayVersion3Config(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	data, err := os.ReadFile(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	old := cfg["channels"].(map[string]any)["dingtalk"].(map[string]any)
	delete(cfg, "channels")
	cfg["version"] = 3
	// Written as text so that the file's key order is known: "work" first.
	work, _ := json.Marshal(map[string]any{
		"enabled": true, "type": "dingtalk", "allow_from": old["allow_from"], "group_trigger": old["group_trigger"],
		"settings": map[string]any{"client_id": old["client_id"], "client_secret": old["client_secret"], "api_base": old["api_base"],
			// Per-group settings: one group answered, without a mention.
			"group_allow_from": []string{"cidTeam"},
			"groups":           map[string]any{"cidTeam": map[string]any{"mention_only": false, "prefixes": []string{"/ai"}}}},
	})
	rest, _ := json.Marshal(cfg)
	second := `{"enabled": true, "type": "dingtalk", "settings": {"client_id": "second-id", "client_secret": "second-secret", "api_base": "` + h.dt.URL() + `"}}`
	text := strings.TrimSuffix(string(rest), "}") + `,"channel_list":{"work":` + string(work) + `,"second":` + second + `,"tg":{"type":"telegram","enabled":true}}}`
	if err := os.WriteFile(h.cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	h.start()
	// The fake model echoes the user.
	h.push(dingtalktest.BotMessage{Text: "hello from v3"})
	if r := h.waitReplies(1); !strings.Contains(r[0].Text, "hello from v3") {
		t.Errorf("reply = %+v", r[0])
	}
	// Pushed in order on one connection: the first is refused before the
	// second is taken.
	h.push(dingtalktest.BotMessage{Group: true, ConversationID: "cidOther", InAtList: true, Text: "not answered here"})
	h.push(dingtalktest.BotMessage{Group: true, ConversationID: "cidTeam", Text: "/ai ping the team"})
	r := h.waitReplies(2)
	if r[1].ConversationID != "cidTeam" || !strings.Contains(r[1].Text, "ping the team") || strings.Contains(r[1].Text, "/ai") {
		t.Errorf("group reply = %+v", r[1])
	}
	if logs := h.logs.String(); !strings.Contains(logs, "group not answered") || !strings.Contains(logs, "cidOther") {
		t.Errorf("logs lack the refused group:\n%s", logs)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "refused this bot's credentials") || !strings.Contains(logs, "channel_list.second.settings.client_secret") || !strings.Contains(logs, "telegram") {
		t.Errorf("logs lack the warnings about the second bot and the telegram entry:\n%s", logs)
	}
	if strings.Contains(logs, "second-secret") || strings.Contains(logs, "test-client-secret") {
		t.Error("a client secret reached the logs")
	}
}
