package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"picoclaw/config"
)

const (
	testAppKey    = "dingq3xv0abcdefghijk"
	testAppSecret = "Zx9-kLmNoPqRsTuVwXyZ0123456789abcdefABCDEF_ghijklmnopqrstuvwxyz01"
)

func onboardDingTalk(t *testing.T, cfgPath, stdin string) (int, string, string) {
	t.Helper()
	home := filepath.Dir(filepath.Dir(cfgPath))
	getenv := func(k string) string { return map[string]string{"HOME": home}[k] }
	return runCLI(t, getenv, stdin, "--config", cfgPath, "onboard", "--dingtalk")
}

func TestOnboardDingTalkFresh(t *testing.T) {
	cfgPath := filepath.Join(t.TempDir(), ".picoclaw", "config.json")
	code, out, errOut := onboardDingTalk(t, cfgPath, testAppKey+"\n"+testAppSecret+"\n")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"https://open-dev.dingtalk.com", "机器人 (Robot)", "Stream 模式 (Stream", "qyapi_robot_sendmsg",
		"Card.Instance.Write", "Card.Streaming.Write", "publish", "Client ID (AppKey): ", "Client Secret (AppSecret, not shown): ",
		"wrote the Client ID and Client Secret to channel_list.dingtalk.settings", "doctor`"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, testAppSecret) {
		t.Error("the secret was printed")
	}
	st, err := os.Stat(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("config mode %04o, want 0600", st.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfgPath), "workspace", "AGENTS.md")); err != nil {
		t.Errorf("workspace templates not made as onboard makes them: %v", err)
	}
	cfg, _, err := config.Load(cfgPath, func(string) string { return "" })
	if err != nil {
		t.Fatalf("written config does not load: %v", err)
	}
	bots := cfg.EnabledDingTalkBots()
	if len(bots) != 1 || bots[0].ClientID != testAppKey || bots[0].ClientSecret != testAppSecret || bots[0].Section != "channel_list.dingtalk" {
		t.Errorf("bots = %+v", bots)
	}
	if err := cfg.CheckDingTalk(cfgPath); err != nil {
		t.Errorf("the gateway would refuse the credentials: %v", err)
	}
}

func TestOnboardDingTalkKeepsOtherKeys(t *testing.T) {
	tests := []struct {
		name, config, section string
		// want are substrings of the written file, in order.
		want []string
	}{
		{"version 3", `{
  "_comment": "mine <ai> & co",
  "version": 3,
  "heartbeat": {"enabled": true, "interval": 30},
  "model_list": [{"model_name": "q", "model": "qwen/qwen-plus", "api_key": "sk-real", "max_tokens_hint": 1e3}],
  "channel_list": {
    "tg": {"enabled": false, "type": "telegram"},
    "work": {"enabled": false, "type": "dingtalk", "allow_from": ["007"], "settings": {"client_id": "", "client_secret": "", "card_update_ms": 500}}
  },
  "gateway": {"port": 18790}
}`, "channel_list.work", []string{`"_comment": "mine <ai> & co"`, `"version": 3`, `"heartbeat"`, `"max_tokens_hint": 1e3`, `"tg"`,
			`"work": {`, `"enabled": true`, `"allow_from": [`, `"client_id": "` + testAppKey + `"`, `"client_secret": "` + testAppSecret + `"`,
			`"card_update_ms": 500`, `"gateway"`}},
		{"v0.2.6", `{"agents": {"defaults": {"model_name": "q"}}, "channels": {"telegram": {"enabled": false}, "dingtalk": {"enabled": false, "client_id": "YOUR_CLIENT_ID", "client_secret": "YOUR_CLIENT_SECRET", "allow_from": []}}}`,
			"channels.dingtalk", []string{`"agents"`, `"telegram"`, `"dingtalk": {`, `"enabled": true`, `"client_id": "` + testAppKey + `"`,
				`"client_secret": "` + testAppSecret + `"`, `"allow_from": []`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgPath := filepath.Join(t.TempDir(), "config.json")
			if err := os.WriteFile(cfgPath, []byte(tt.config), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := onboardDingTalk(t, cfgPath, testAppKey+"\r\n"+testAppSecret) // CRLF, no final newline
			if code != 0 {
				t.Fatalf("exit %d: %s\n%s", code, errOut, out)
			}
			if !strings.Contains(out, "to "+tt.section) {
				t.Errorf("output does not name %s:\n%s", tt.section, out)
			}
			data, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			rest := string(data)
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("written config lacks %q after the keys before it:\n%s", w, data)
				}
				rest = rest[i+len(w):]
			}
			if st, _ := os.Stat(cfgPath); st.Mode().Perm() != 0o600 {
				t.Errorf("mode %04o, want 0600", st.Mode().Perm())
			}
		})
	}
}

func TestOnboardDingTalkRejectsBadShapes(t *testing.T) {
	tests := []struct{ name, stdin, want string }{
		{"id with spaces", "my app key\n" + testAppSecret + "\n", "Client ID: expected the app's Client ID (AppKey"},
		{"placeholder id", "YOUR_CLIENT_ID\n" + testAppSecret + "\n", "Client ID: \"YOUR_CLIENT_ID\" is the example placeholder"},
		{"short secret", testAppKey + "\nabc123\n", "Client Secret: expected the app's Client Secret (AppSecret): 16 to 128"},
		{"id twice", testAppKey + "\n" + testAppKey + "\n", "Client Secret: this is the Client ID again"},
		{"no input", "", "Client ID (AppKey): no answer: the input ended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgPath := filepath.Join(t.TempDir(), "config.json")
			const before = `{"version": 3, "channel_list": {}}`
			if err := os.WriteFile(cfgPath, []byte(before), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := onboardDingTalk(t, cfgPath, tt.stdin)
			if code == 0 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want a refusal with %q", code, errOut, tt.want)
			}
			if strings.Contains(errOut, "abc123") {
				t.Errorf("the rejected secret was printed: %q", errOut)
			}
			if data, _ := os.ReadFile(cfgPath); string(data) != before {
				t.Errorf("config changed on a refusal:\n%s", data)
			}
		})
	}
}
