package config

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary text to the config decoder with an empty
// environment: it never panics, every failure is a *SyntaxError or an
// *Error, and every config it accepts keeps the promises the gateway
// relies on. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"agents":{"defaults":{"temperature":0.5}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := Parse(data, envFrom(nil))
		if err != nil {
			var se *SyntaxError
			var ce *Error
			if !errors.As(err, &se) && !errors.As(err, &ce) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if cfg != nil {
				t.Fatal("a config returned with an error")
			}
			return
		}
		d := cfg.Agents.Defaults
		if !filepath.IsAbs(d.Workspace) || !filepath.IsAbs(d.DataDir) {
			t.Fatalf("workspace %q or data_dir %q not absolute", d.Workspace, d.DataDir)
		}
		if msg := checkDataDir(d.Workspace, d.DataDir); msg != "" {
			t.Fatalf("accepted overlapping dirs: %s", msg)
		}
		if tp := d.Temperature; tp != nil && (math.IsNaN(*tp) || *tp < 0 || *tp > 2) {
			t.Fatalf("accepted temperature %v", *tp)
		}
		if d.MaxTokens <= 0 || d.MaxToolIterations <= 0 {
			t.Fatalf("max_tokens %d, max_tool_iterations %d", d.MaxTokens, d.MaxToolIterations)
		}
		if p := cfg.Gateway.Port; p < 1 || p > 65535 {
			t.Fatalf("accepted port %d", p)
		}
		for _, m := range cfg.ModelList {
			if m.RequestTimeout < 0 || m.RequestTimeout > maxSeconds {
				t.Fatalf("accepted request_timeout %d", m.RequestTimeout)
			}
		}
		if len(cfg.DingTalkBots) == 0 {
			t.Fatal("no DingTalk bot, not even a disabled one")
		}
		for _, b := range append(cfg.DingTalkBots, DingTalkBot{DingTalkConfig: cfg.Channels.DingTalk}) {
			if strings.HasSuffix(b.APIBase, "/") || b.GroupTrigger.MentionOnly == nil {
				t.Fatalf("bot %q: api_base %q keeps its trailing slash, or mention_only unset", b.Name, b.APIBase)
			}
			if b.ChatLimit < 0 || b.ChatWindowSeconds < 0 || b.ChatWindowSeconds > maxSeconds {
				t.Fatalf("bot %q: accepted chat_limit %d, chat_window_seconds %d", b.Name, b.ChatLimit, b.ChatWindowSeconds)
			}
		}
	})
}
