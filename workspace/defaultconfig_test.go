package workspace

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"picoclaw/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string {
		if k == "HOME" {
			return "/home/tester"
		}
		return m[k]
	}
}

func TestDefaultConfigLoads(t *testing.T) {
	// Without credentials the config loads (the agent CLI works), and the
	// gateway's check stops with a clear message.
	fresh, _, err := config.Parse(DefaultConfig(DefaultWorkspace), env(nil))
	if err != nil {
		t.Fatalf("the fresh default config does not load: %v", err)
	}
	err = fresh.CheckDingTalk("config.json")
	var ce *config.Error
	if !errors.As(err, &ce) {
		t.Fatalf("CheckDingTalk = %v, want a *config.Error", err)
	}
	var paths []string
	for _, p := range ce.Problems {
		var fe *config.FieldError
		if errors.As(p, &fe) {
			paths = append(paths, fe.Path)
		}
	}
	if want := []string{"channel_list.dingtalk.settings.client_id", "channel_list.dingtalk.settings.client_secret"}; !slices.Equal(paths, want) {
		t.Errorf("problems = %q, want only %q", ce.Problems, want)
	}

	cfg, warnings, err := config.Parse(DefaultConfig("/srv/ws"), env(map[string]string{
		"PICOCLAW_CHANNEL_LIST_DINGTALK_SETTINGS_CLIENT_ID": "id",
		// The v0.2.6 variable still reaches the only bot.
		"PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET": "secret",
	}))
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Parse = %v, warnings %q; want a clean load", err, warnings)
	}
	if cfg.Version != 3 || cfg.Agents.Defaults.Workspace != "/srv/ws" {
		t.Errorf("config = %+v", cfg)
	}
	if bots := cfg.EnabledDingTalkBots(); len(bots) != 1 || bots[0].Name != "dingtalk" || bots[0].Section != "channel_list.dingtalk" ||
		bots[0].ClientID != "id" || bots[0].ClientSecret != "secret" || !bots[0].GroupTrigger.MentionOnlyOrDefault() {
		t.Errorf("config = %+v", cfg)
	}
	if !cfg.Tools.Exec.Enabled || cfg.Tools.MCP.Enabled || len(cfg.Models(cfg.Agents.Defaults.ModelName)) != 1 {
		t.Errorf("tools/models = %+v", cfg.Tools)
	}
}

func TestWriteDefaultConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "home", "config.json")
	if err := WriteDefaultConfig(path, false); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat = %v, %v; want mode 0600", st, err)
	}
	if got := readFile(t, path); got != string(DefaultConfig(DefaultWorkspace)) {
		t.Errorf("file = %s", got)
	}

	writeFile(t, path, `{"edited": true}`)
	err = WriteDefaultConfig(path, false)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), "--force") {
		t.Errorf("err = %v, want fs.ErrExist with a hint to use --force", err)
	}
	if readFile(t, path) != `{"edited": true}` {
		t.Error("existing config overwritten without force")
	}

	if err := WriteDefaultConfig(path, true); err != nil {
		t.Fatal(err)
	}
	if readFile(t, path+".bak") != `{"edited": true}` {
		t.Error("force did not keep the old config as .bak")
	}
	if st, err := os.Stat(path + ".bak"); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf(".bak mode = %v, %v; want 0600 (it holds secrets)", st, err)
	}
	if readFile(t, path) != string(DefaultConfig(DefaultWorkspace)) {
		t.Error("force did not write the default config")
	}
}
