package config

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const reloadBase = `{"version":3,"agents":{"defaults":{"model_name":"m","data_dir":"/tmp/pc-data"}},
  "model_list":[{"model_name":"m","model":"qwen/qwen-plus","api_keys":["sk-1"]}],
  "channel_list":{"work":{"type":"dingtalk","enabled":true,"allow_from":["boss"],
    "settings":{"client_id":"id","client_secret":"SECRET-1","groups":{"cidA":{"mention_only":false}}}}}}`

// Diff names each changed key as the file writes it and sorts the keys a
// running gateway applies (who is answered, where, how) from those that
// need a restart. A changed secret shows as its path only.
func TestDiff(t *testing.T) {
	old, _ := mustParse(t, reloadBase, nil)
	edited := strings.NewReplacer(
		`"allow_from":["boss"]`, `"allow_from":["boss","intern"]`,
		`"cidA":{"mention_only":false}`, `"cidA":{"mention_only":false,"system_prompt":"Be brief."},"cidB":{"enabled":false}`,
		`SECRET-1`, `SECRET-2`,
		`"data_dir":"/tmp/pc-data"`, `"data_dir":"/tmp/pc-other"`,
	).Replace(reloadBase)
	cfg, _ := mustParse(t, edited, nil)
	got := Diff(old, cfg)
	wantApplied := []string{"channel_list.work.allow_from", "channel_list.work.settings.groups.cidA.system_prompt", "channel_list.work.settings.groups.cidB"}
	wantRestart := []string{"agents.defaults.data_dir", "channel_list.work.settings.client_secret"}
	if !slices.Equal(got.Applied, wantApplied) || !slices.Equal(got.Restart, wantRestart) {
		t.Errorf("Diff = %+v\nwant applied %q, restart %q", got, wantApplied, wantRestart)
	}
	for _, k := range append(got.Applied, got.Restart...) {
		if strings.Contains(k, "SECRET") {
			t.Errorf("a secret value in the changes: %q", k)
		}
	}
	if d := Diff(old, old); !d.Empty() {
		t.Errorf("Diff of a config with itself = %+v", d)
	}

	// The first group of a bot is named, not the whole groups key.
	none, _ := mustParse(t, strings.Replace(reloadBase, `,"groups":{"cidA":{"mention_only":false}}`, `,"groups":{}`, 1), nil)
	if d := Diff(none, old); !slices.Equal(d.Applied, []string{"channel_list.work.settings.groups.cidA"}) || len(d.Restart) != 0 {
		t.Errorf("first group added: %+v", d)
	}
	if d := Diff(none, none); !d.Empty() {
		t.Errorf("no groups, twice: %+v", d)
	}

	// A bot added or removed needs a restart.
	two, _ := mustParse(t, strings.Replace(reloadBase, `"channel_list":{`,
		`"channel_list":{"new":{"type":"dingtalk","settings":{"client_id":"x","client_secret":"y"}},`, 1), nil)
	if d := Diff(old, two); !slices.Equal(d.Restart, []string{"channel_list.new (added)"}) || len(d.Applied) != 0 {
		t.Errorf("bot added: %+v", d)
	}
	if d := Diff(two, old); !slices.Equal(d.Restart, []string{"channel_list.new (removed)"}) {
		t.Errorf("bot removed: %+v", d)
	}
}

// watchHarness runs a Watcher on a file in a temp dir and records each
// outcome and each applied config.
type watchHarness struct {
	t       *testing.T
	path    string
	w       *Watcher
	logs    *bytes.Buffer
	mu      sync.Mutex
	outcome chan error
	applied []*Config
}

func newWatchHarness(t *testing.T, check func(*Config) error) *watchHarness {
	t.Helper()
	h := &watchHarness{t: t, path: filepath.Join(t.TempDir(), "config.json"), logs: &bytes.Buffer{}, outcome: make(chan error, 16)}
	h.write(reloadBase)
	cfg, _, err := Load(h.path, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	h.w, err = NewWatcher(WatchOptions{
		Path: h.path, Getenv: noEnv, Current: cfg, Check: check, Interval: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, h.logs}, nil)),
		Apply: func(c *Config, _ Changes) {
			h.mu.Lock()
			h.applied = append(h.applied, c)
			h.mu.Unlock()
		},
		Done: func(err error) { h.outcome <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.w.Run(ctx, nil); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// write replaces the file at once (a rename), as editors and config
// tools do, so a poll never sees half of it.
func (h *watchHarness) write(text string) {
	h.t.Helper()
	tmp := h.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, h.path); err != nil {
		h.t.Fatal(err)
	}
}

func (h *watchHarness) next() error {
	h.t.Helper()
	select {
	case err := <-h.outcome:
		return err
	case <-time.After(30 * time.Second):
		h.t.Fatal("no reload within 30s of the file changing")
		return nil
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func noEnv(string) string { return "" }

// A changed file is applied without being asked; a broken one is logged
// once, however often it is looked at, and nothing is applied until the
// file is good again.
func TestWatcherReloadsChangedFile(t *testing.T) {
	h := newWatchHarness(t, nil)
	h.write(strings.Replace(reloadBase, `"allow_from":["boss"]`, `"allow_from":["boss","intern"]`, 1))
	if err := h.next(); err != nil {
		t.Fatalf("reload: %v", err)
	}
	h.mu.Lock()
	got := h.applied[0].DingTalkBots[0].AllowFrom
	h.mu.Unlock()
	if !slices.Equal(got, []string{"boss", "intern"}) {
		t.Errorf("applied allow_from = %q", got)
	}

	h.write(`{"version":3,`) // truncated
	if err := h.next(); err == nil {
		t.Fatal("a broken file was applied")
	}
	// Asked again, the broken file fails again; polling it never logs.
	h.write(strings.Replace(reloadBase, `"model_name":"m","data_dir"`, `"model_name":"nope","data_dir"`, 1))
	err := h.next()
	var ce *Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "agents.defaults.model_name") {
		t.Fatalf("reload of an unknown model: %v", err)
	}
	h.write(reloadBase)
	if err := h.next(); err != nil {
		t.Fatalf("reload of the good file: %v", err)
	}
	h.mu.Lock()
	n := len(h.applied)
	h.mu.Unlock()
	if n != 2 {
		t.Errorf("applied %d configs, want 2 (the broken ones never)", n)
	}
	logs := h.logs.String()
	if c := strings.Count(logs, "config reload failed"); c != 2 {
		t.Errorf("%d error lines for two broken versions, want 2:\n%s", c, logs)
	}
	if c := strings.Count(logs, "level=ERROR"); c != 2 {
		t.Errorf("%d error lines, want 2:\n%s", c, logs)
	}
	if !strings.Contains(logs, `applied=[channel_list.work.allow_from]`) || strings.Contains(logs, "SECRET") {
		t.Errorf("logs:\n%s", logs)
	}
}

// Reload (SIGHUP) reads the file even when it did not change, and a
// caller's Check can refuse a config Load accepts.
func TestWatcherReloadOnRequest(t *testing.T) {
	refuse := errors.New("model not started")
	var mu sync.Mutex
	var checkErr error
	h := newWatchHarness(t, func(*Config) error {
		mu.Lock()
		defer mu.Unlock()
		return checkErr
	})
	if err := h.w.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if err := h.next(); err != nil {
		t.Fatal(err)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "config reloaded") || !strings.Contains(logs, "applied=none needs_restart=none") {
		t.Errorf("logs:\n%s", logs)
	}
	mu.Lock()
	checkErr = refuse
	mu.Unlock()
	if err := h.w.Reload(); !errors.Is(err, refuse) {
		t.Fatalf("Reload = %v, want the Check's refusal", err)
	}
}

// Reloadable keeps exactly the keys IsReloadable names: the gateway swaps
// in what it returns, and Diff reports by IsReloadable.
func TestReloadableMatchesKeys(t *testing.T) {
	cfg, _ := mustParse(t, strings.Replace(reloadBase, `"groups"`, `"group_allow_from":["cidA"],"reply_at_sender":false,"groups"`, 1), nil)
	full, _ := generic(cfg.DingTalkBots[0].DingTalkConfig).(map[string]any)
	kept, _ := generic(cfg.DingTalkBots[0].Reloadable()).(map[string]any)
	zero, _ := generic(DingTalkConfig{}).(map[string]any)
	for k, v := range full {
		if reflect.DeepEqual(v, zero[k]) {
			continue // unset in the file: nothing to keep or drop
		}
		if got := reflect.DeepEqual(kept[k], v); got != IsReloadable(k) {
			t.Errorf("key %s: kept %v, want %v", k, got, IsReloadable(k))
		}
	}
}
