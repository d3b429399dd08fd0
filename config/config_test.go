package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// envFrom returns a getenv over m only, so tests never see the real
// environment. HOME is fixed unless m sets it.
func envFrom(m map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := m[k]; ok {
			return v
		}
		if k == "HOME" {
			return "/home/tester"
		}
		return ""
	}
}

// mustParse parses src and fails the test on error.
func mustParse(t *testing.T, src string, env map[string]string) (*Config, []string) {
	t.Helper()
	cfg, warnings, err := Parse([]byte(src), envFrom(env))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg, warnings
}

const briefExample = `{
  "agents": {"defaults": {"workspace": "~/.picoclaw/workspace", "model_name": "gpt", "max_tokens": 8192, "max_tool_iterations": 20}},
  "model_list": [{"model_name": "gpt", "model": "openai/gpt-4o-mini", "api_base": "https://api.openai.com/v1", "api_keys": ["sk-example"]}],
  "channels": {"dingtalk": {"enabled": true, "client_id": "YOUR_CLIENT_ID", "client_secret": "YOUR_CLIENT_SECRET",
      "allow_from": [], "group_trigger": {"mention_only": true}, "reasoning_channel_id": ""}}
}`

func TestParseExample(t *testing.T) {
	cfg, warnings := mustParse(t, briefExample, nil)
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
	d := cfg.Agents.Defaults
	if got, want := d.Workspace, "/home/tester/.picoclaw/workspace"; got != want {
		t.Errorf("workspace = %q, want %q", got, want)
	}
	if d.ModelName != "gpt" || d.MaxTokens != 8192 || d.MaxToolIterations != 20 {
		t.Errorf("defaults = %+v", d)
	}
	if d.Temperature != nil {
		t.Errorf("temperature = %v, want unset", *d.Temperature)
	}
	if d.RestrictToWorkspace == nil || !*d.RestrictToWorkspace {
		t.Errorf("restrict_to_workspace should default to true")
	}
	dt := cfg.Channels.DingTalk
	if !dt.Enabled || dt.ClientID != "YOUR_CLIENT_ID" || dt.ClientSecret != "YOUR_CLIENT_SECRET" {
		t.Errorf("dingtalk = %+v", dt)
	}
	if dt.APIBase != DefaultDingTalkAPIBase || !dt.GroupTrigger.MentionOnlyOrDefault() {
		t.Errorf("dingtalk defaults: api_base %q, mention_only %v", dt.APIBase, dt.GroupTrigger.MentionOnlyOrDefault())
	}
	if cfg.Gateway.Host != "127.0.0.1" || cfg.Gateway.Port != 18790 {
		t.Errorf("gateway = %+v", cfg.Gateway)
	}
	models := cfg.Models("gpt")
	if len(models) != 1 || models[0].ModelID() != "gpt-4o-mini" || !slices.Equal(models[0].Keys(), []string{"sk-example"}) {
		t.Errorf("Models(gpt) = %+v", models)
	}
}

func TestParseDefaultsFromEmptyObject(t *testing.T) {
	cfg, _ := mustParse(t, `{}`, map[string]string{"PICOCLAW_HOME": "/srv/pc"})
	d := cfg.Agents.Defaults
	if d.Workspace != "/srv/pc/workspace" {
		t.Errorf("workspace = %q, want it under PICOCLAW_HOME", d.Workspace)
	}
	if d.MaxTokens != DefaultMaxTokens || d.MaxToolIterations != DefaultMaxToolIterations || d.ModelName != "" {
		t.Errorf("defaults = %+v", d)
	}
	if cfg.Channels.DingTalk.Enabled {
		t.Error("dingtalk enabled by default")
	}
	if (GroupTrigger{}).MentionOnlyOrDefault() != true {
		t.Error("zero GroupTrigger: mention_only should default to true")
	}
	f := false
	if (GroupTrigger{MentionOnly: &f}).MentionOnlyOrDefault() {
		t.Error("explicit mention_only false ignored")
	}
}

func TestLoadFullPicoClawConfig(t *testing.T) {
	cfg, warnings, err := Load(filepath.Join("testdata", "picoclaw-v0.2.6.json"), envFrom(nil))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	all := strings.Join(warnings, "\n")
	// PicoClaw's own sections this build does not use load silently.
	if strings.Contains(all, "unknown key") {
		t.Errorf("PicoClaw's own keys reported as unknown: %q", warnings)
	}
	if strings.Contains(all, "_comment") {
		t.Errorf("_comment keys should be treated as comments: %q", warnings)
	}
	if !strings.Contains(all, `model_list[4].model: unknown protocol "antigravity"`) {
		t.Errorf("unused entry with unknown protocol should warn; got %q", warnings)
	}
	for _, secret := range []string{"test-client-secret-value", "sk-test-qwen-key-1", "sk-ant-test-key", "test-mcp-header-secret", "test-mcp-env-secret"} {
		if strings.Contains(all, secret) {
			t.Errorf("warnings leak %q", secret)
		}
	}

	if cfg.Version != 2 {
		t.Errorf("version = %d", cfg.Version)
	}
	dt := cfg.Channels.DingTalk
	if want := (StringList{"manager4711", "123456789012345678", "007"}); !slices.Equal(dt.AllowFrom, want) {
		t.Errorf("allow_from = %q, want %q", dt.AllowFrom, want)
	}
	if !slices.Equal(dt.GroupTrigger.Prefixes, []string{"/ask"}) {
		t.Errorf("prefixes = %q", dt.GroupTrigger.Prefixes)
	}
	qwen := cfg.Models("qwen-plus")
	if len(qwen) != 2 || qwen[0].RequestTimeout != 120 || qwen[1].APIKey != "sk-test-qwen-key-3" {
		t.Fatalf("Models(qwen-plus) = %+v", qwen)
	}
	if got := qwen[0].Keys(); !slices.Equal(got, []string{"sk-test-qwen-key-1", "sk-test-qwen-key-2"}) {
		t.Errorf("keys = %q", got)
	}
	if qwen[0].CustomHeaders["X-DashScope-SSE"] != "enable" || qwen[0].ExtraBody["enable_thinking"] != false {
		t.Errorf("extra_body/custom_headers = %v / %v", qwen[0].ExtraBody, qwen[0].CustomHeaders)
	}
	if got := cfg.Models("local")[0].BaseURL(); got != "http://127.0.0.1:8000/v1" {
		t.Errorf("local BaseURL = %q", got)
	}
	if cfg.Agents.Defaults.Temperature == nil || *cfg.Agents.Defaults.Temperature != 0.7 {
		t.Errorf("temperature = %v", cfg.Agents.Defaults.Temperature)
	}
	if cfg.Agents.Defaults.SubTurn.MaxDepth != 3 || cfg.Gateway.LogLevel != "fatal" {
		t.Errorf("subturn/log_level not kept: %+v %+v", cfg.Agents.Defaults.SubTurn, cfg.Gateway)
	}
}

func TestUnknownKeysAtDepth(t *testing.T) {
	src := `{"model_list":[{"model_name":"a","model":"openai/x"},{"model_name":"b","model":"openai/y","foo":1,
		"extra_body":{"anything":{"nested":true}},"custom_headers":{"X-Any":"v"}}],
		"channels":{"dingtalk":{"group_trigger":{"typo":true}}},"gateway":{"hots":"x"}}`
	_, warnings := mustParse(t, src, nil)
	want := []string{
		`config: unknown key "channels.dingtalk.group_trigger.typo" (ignored)`,
		`config: unknown key "gateway.hots" (ignored)`,
		`config: unknown key "model_list[1].foo" (ignored)`,
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings =\n%q\nwant\n%q", warnings, want)
	}
}

func TestModelNameResolution(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"first entry when unset", `{"model_list":[{"model_name":"a","model":"x"},{"model_name":"b","model":"y"}]}`, "a"},
		{"legacy model alias", `{"agents":{"defaults":{"model":"b"}},"model_list":[{"model_name":"a","model":"x"},{"model_name":"b","model":"y"}]}`, "b"},
		{"model_name wins over alias", `{"agents":{"defaults":{"model":"a","model_name":"b"}},"model_list":[{"model_name":"a","model":"x"},{"model_name":"b","model":"y"}]}`, "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _ := mustParse(t, tt.src, nil)
			if got := cfg.Agents.Defaults.ModelName; got != tt.want {
				t.Errorf("model_name = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	_, _, err := Load(path, envFrom(nil))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "picoclaw onboard") {
		t.Errorf("err = %q, want the path and a hint to run picoclaw onboard", msg)
	}
}

func TestLoadErrorsNameFile(t *testing.T) {
	dir := t.TempDir()
	write := func(t *testing.T, src string) string {
		t.Helper()
		p := filepath.Join(dir, "config.json")
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("syntax", func(t *testing.T) {
		p := write(t, "{\n  \"gateway\": {\n    \"port\": x\n  }\n}\n")
		_, _, err := Load(p, envFrom(nil))
		if want := "config: " + p + ":3:13: invalid JSON: "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err = %v, want prefix %q", err, want)
		}
	})
	t.Run("validation", func(t *testing.T) {
		p := write(t, `{"gateway":{"port":70000}}`)
		_, _, err := Load(p, envFrom(nil))
		var fe *FieldError
		if err == nil || !strings.HasPrefix(err.Error(), "config: "+p+": gateway.port:") || !errors.As(err, &fe) {
			t.Errorf("err = %v, want it to name the file and gateway.port", err)
		}
	})
	t.Run("security.yml warning", func(t *testing.T) {
		p := write(t, `{}`)
		if err := os.WriteFile(filepath.Join(dir, ".security.yml"), []byte("x: y\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(filepath.Join(dir, ".security.yml")) })
		_, warnings, err := Load(p, envFrom(nil))
		if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], ".security.yml") {
			t.Errorf("warnings = %q, err = %v; want one about .security.yml", warnings, err)
		}
	})
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"home", map[string]string{"HOME": "/u"}, "/u/.picoclaw/config.json"},
		{"PICOCLAW_HOME", map[string]string{"HOME": "/u", "PICOCLAW_HOME": "/data/pc"}, "/data/pc/config.json"},
		{"PICOCLAW_CONFIG wins", map[string]string{"HOME": "/u", "PICOCLAW_HOME": "/data/pc", "PICOCLAW_CONFIG": "/etc/pc.json"}, "/etc/pc.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultPath(envFrom(tt.env)); got != tt.want {
				t.Errorf("DefaultPath = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPicoClawKeysWarnOnlyWhenIgnoringThemMatters(t *testing.T) {
	src := `{"version": 2,
	  "heartbeat": {"enabled": true, "interval": 30}, "devices": {"enabled": false}, "hooks": {}, "voice": {},
	  "agents": {"defaults": {"max_llm_retries": 3}, "list": []},
	  "channels": {"telegram": {"enabled": true, "token": "t"}, "feishu": {"enabled": false}, "dingtlak": {"enabled": true}},
	  "tools": {"i2c": {"enabled": false}, "read_file": {"enabled": true}, "write_file": {"enabled": false},
	            "message": {"enabled": false}, "web": {"tavily": {"enabled": false}}},
	  "gateway": {"hots": "x"}
	}`
	_, warnings := mustParse(t, src, nil)
	want := []string{
		`config: channels.telegram is enabled, but this build serves only DingTalk (ignored)`,
		`config: unknown key "channels.dingtlak" (ignored)`,
		`config: tools.write_file says disabled, but this build offers write_file regardless (ignored)`,
		`config: tools.message.enabled says disabled, but this build offers message regardless (ignored)`,
		`config: unknown key "gateway.hots" (ignored)`,
	}
	slices.Sort(want)
	got := slices.Sorted(slices.Values(warnings))
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}

	// In channel_list too: only an enabled other channel, or a type
	// PicoClaw does not know either, is news.
	_, warnings = mustParse(t, `{"version": 3, `+v3Models+`, "channel_list": {
	  "tg": {"enabled": false, "type": "telegram"}, "dc": {"enabled": true, "type": "discord"}, "x": {"enabled": false, "type": "dingding"}}}`, nil)
	want = []string{
		`config: channel_list.dc: channel type "discord" is not supported by this build (ignored)`,
		`config: channel_list.x: channel type "dingding" is not supported by this build (ignored)`,
	}
	if got := slices.Sorted(slices.Values(warnings)); !slices.Equal(got, want) {
		t.Errorf("channel_list warnings:\n got %q\nwant %q", got, want)
	}
}
