package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// Defaults applied when the file (and the environment) leave a field unset.
// Zero counts as unset for the numbers and strings below.
const (
	CurrentVersion           = 3 // the PicoClaw schema version this package reads and onboard writes
	DefaultMaxTokens         = 8192
	DefaultMaxToolIterations = 20
	DefaultGatewayHost       = "127.0.0.1"
	DefaultGatewayPort       = 18790
	DefaultDingTalkAPIBase   = "https://api.dingtalk.com"
)

// DefaultPath returns PICOCLAW_CONFIG when set, else
// $PICOCLAW_HOME/config.json, else ~/.picoclaw/config.json.
func DefaultPath(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if p := getenv("PICOCLAW_CONFIG"); p != "" {
		return p
	}
	return filepath.Join(picoclawHome(getenv), "config.json")
}

// Load reads the file at path and parses it like Parse. Every error names
// the file. A missing file wraps fs.ErrNotExist.
func Load(path string, getenv func(string) string) (*Config, []string, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("config: %s: file is missing (run `picoclaw onboard` to create it): %w", path, fs.ErrNotExist)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	return LoadData(path, data, getenv)
}

// LoadData parses data, the contents of the file at path, like Load: a
// watcher that has read the file to see whether it changed parses the same
// bytes it compared.
func LoadData(path string, data []byte, getenv func(string) string) (*Config, []string, error) {
	cfg, warnings, err := Parse(data, getenv)
	var se *SyntaxError
	var ce *Error
	switch {
	case errors.As(err, &se):
		se.File = path
		return nil, nil, se
	case errors.As(err, &ce):
		ce.File = path
		return nil, warnings, ce
	case err != nil:
		return nil, warnings, fmt.Errorf("config: %s: %w", path, err)
	}
	// PicoClaw v0.2.6 may keep secrets in .security.yml beside config.json;
	// this build reads JSON and env only, so say so rather than fail later.
	if w := permWarning(path, data); w != "" {
		warnings = append(warnings, w)
	}
	sec := filepath.Join(filepath.Dir(path), ".security.yml")
	if _, err := os.Stat(sec); err == nil {
		warnings = append(warnings, fmt.Sprintf("config: %s is not read by this build; put its secrets in %s or PICOCLAW_* environment variables", sec, filepath.Base(path)))
	}
	return cfg, warnings, nil
}

// Parse decodes config.json text, applies defaults and PICOCLAW_*
// overrides from getenv (nil means os.Getenv), and validates the result.
// Warnings report keys it ignored. Errors are a *SyntaxError or an *Error.
func Parse(data []byte, getenv func(string) string) (*Config, []string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	// A first pass over the bytes only to locate syntax errors: json.Decoder
	// reports truncation as a bare io.ErrUnexpectedEOF with no offset.
	if err := json.Unmarshal(data, new(json.RawMessage)); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, nil, newSyntaxError(data, se.Offset, se.Error())
		}
		return nil, nil, fmt.Errorf("config: parse: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // keeps integers exact, and ids as written
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("config: parse: %w", err)
	}

	cfg := defaults()
	d := &decoder{}
	entries, inFile := d.decodeDocument(data, raw, &cfg)
	if cfg.Version > CurrentVersion {
		d.warnings = append(d.warnings, fmt.Sprintf("config: version %d is newer than this build reads (%d); unknown keys are ignored", cfg.Version, CurrentVersion))
	}
	if len(d.errs) > 0 {
		return nil, d.warnings, &Error{Problems: d.errs}
	}

	var errs []error
	applyEnv("", reflect.ValueOf(&cfg).Elem(), getenv, &errs)
	buildBots(&cfg, entries, inFile, getenv, &d.warnings, &errs)
	applyAgents(&cfg, raw, &errs)
	if len(errs) > 0 {
		return nil, d.warnings, &Error{Problems: errs}
	}
	if err := normalize(&cfg, getenv); err != nil {
		return nil, d.warnings, &Error{Problems: []error{err}}
	}
	warnings, errs := validate(&cfg)
	warnings = append(d.warnings, warnings...)
	if len(errs) > 0 {
		blameEnv(errs, getenv)
		return nil, warnings, &Error{Problems: errs}
	}
	// Existing callers read the one bot the gateway runs today here.
	cfg.Channels.DingTalk = cfg.primaryBot().DingTalkConfig
	return &cfg, warnings, nil
}

// decodeDocument decodes the generic JSON tree raw (of data) into cfg,
// except channel_list, whose DingTalk entries it returns in file order.
// PicoClaw's migration rules for pre-version-3 files are applied to
// channels.dingtalk first; inFile says whether that object exists.
func (d *decoder) decodeDocument(data []byte, raw any, cfg *Config) (entries []namedEntry, inFile bool) {
	obj, ok := raw.(map[string]any)
	if !ok {
		d.decode("", raw, reflect.ValueOf(cfg).Elem()) // reports the type error
		return nil, false
	}
	var version int64
	if n, ok := obj["version"].(json.Number); ok {
		version, _ = parseInt(string(n))
	}
	if chs, ok := obj["channels"].(map[string]any); ok {
		if dt, ok := chs["dingtalk"].(map[string]any); ok {
			inFile = true
			migrateLegacyDingTalk(dt, version)
		}
	}
	if _, ok := obj["model_list"]; !ok && obj["providers"] != nil {
		// PicoClaw converts this pre-v0.2 layout on load; this build does not.
		d.warnings = append(d.warnings, "config: providers is the pre-model_list layout of PicoClaw before v0.2, which this build does not convert: write model_list (or let PicoClaw v0.2.6 or later migrate the file once)")
	}
	list, hasList := obj["channel_list"]
	delete(obj, "channel_list")
	d.decode("", obj, reflect.ValueOf(cfg).Elem())
	if hasList {
		obj["channel_list"] = list // raw is the caller's
		entries = d.decodeChannelList(list, objectKeyOrder(data, "channel_list"))
	}
	return entries, inFile
}

// primaryBot is the bot the gateway runs today: the first enabled one,
// else the first. DingTalkBots is never empty after Parse.
func (c *Config) primaryBot() DingTalkBot {
	if on := c.EnabledDingTalkBots(); len(on) > 0 {
		return on[0]
	}
	return c.DingTalkBots[0]
}

// blameEnv adds the variable to each problem whose value came from the
// environment, since the file does not show it.
func blameEnv(errs []error, getenv func(string) string) {
	for _, e := range errs {
		if fe, ok := e.(*FieldError); ok && getenv(EnvName(fe.Path)) != "" {
			fe.Msg += " (set by " + EnvName(fe.Path) + ")"
		}
	}
}

func defaults() Config {
	restrict, mentionOnly := true, true
	var c Config
	c.Tools = defaultTools()
	c.Agents.Defaults.RestrictToWorkspace = &restrict
	c.Agents.Defaults.MaxTokens = DefaultMaxTokens
	c.Agents.Defaults.MaxToolIterations = DefaultMaxToolIterations
	c.Channels.DingTalk.APIBase = DefaultDingTalkAPIBase
	c.Channels.DingTalk.GroupTrigger.MentionOnly = &mentionOnly
	c.Gateway.Host = DefaultGatewayHost
	c.Gateway.Port = DefaultGatewayPort
	return c
}

// normalize fills what depends on other fields or the environment and puts
// values in canonical form. It runs after env overrides, before validation.
func normalize(c *Config, getenv func(string) string) error {
	d := &c.Agents.Defaults
	defaultLimits(d)
	if d.ModelName == "" {
		d.ModelName = d.Model
	}
	if d.ModelName == "" && len(c.ModelList) > 0 {
		d.ModelName = c.ModelList[0].ModelName
	}
	if d.Workspace == "" {
		d.Workspace = filepath.Join(picoclawHome(getenv), "workspace")
	}
	ws, err := expandHome(d.Workspace, getenv)
	if err != nil {
		return &FieldError{Path: "agents.defaults.workspace", Msg: err.Error()}
	}
	if ws, err = filepath.Abs(ws); err != nil {
		return &FieldError{Path: "agents.defaults.workspace", Msg: err.Error()}
	}
	d.Workspace = ws
	if d.DataDir == "" {
		d.DataDir = filepath.Join(picoclawHome(getenv), "data")
	}
	dd, err := expandHome(d.DataDir, getenv)
	if err != nil {
		return &FieldError{Path: "agents.defaults.data_dir", Msg: err.Error()}
	}
	if dd, err = filepath.Abs(dd); err != nil {
		return &FieldError{Path: "agents.defaults.data_dir", Msg: err.Error()}
	}
	d.DataDir = dd
	if err := normalizeBotWorkspaces(c, getenv); err != nil {
		return err
	}
	if d.MaxTokens == 0 {
		d.MaxTokens = DefaultMaxTokens
	}
	if d.MaxToolIterations == 0 {
		d.MaxToolIterations = DefaultMaxToolIterations
	}
	if d.RestrictToWorkspace == nil {
		t := true
		d.RestrictToWorkspace = &t
	}

	for i := range c.DingTalkBots {
		dt := &c.DingTalkBots[i].DingTalkConfig
		if dt.APIBase == "" {
			dt.APIBase = DefaultDingTalkAPIBase
		}
		dt.APIBase = strings.TrimRight(dt.APIBase, "/")
		if dt.GroupTrigger.MentionOnly == nil {
			t := true
			dt.GroupTrigger.MentionOnly = &t
		}
	}

	if c.Gateway.Host == "" {
		c.Gateway.Host = DefaultGatewayHost
	}
	if c.Gateway.Port == 0 {
		c.Gateway.Port = DefaultGatewayPort
	}
	normalizeTools(&c.Tools)
	return normalizeStorage(&c.Storage, getenv)
}

func homeDir(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

// picoclawHome is $PICOCLAW_HOME, else ~/.picoclaw, as in PicoClaw.
func picoclawHome(getenv func(string) string) string {
	if h := getenv("PICOCLAW_HOME"); h != "" {
		return h
	}
	return filepath.Join(homeDir(getenv), ".picoclaw")
}

// expandHome replaces a leading "~" or "~/" with the home directory.
func expandHome(p string, getenv func(string) string) (string, error) {
	if p != "~" && !(len(p) >= 2 && p[0] == '~' && (p[1] == '/' || p[1] == filepath.Separator)) {
		return p, nil
	}
	home := homeDir(getenv)
	if home == "" {
		return "", errors.New("cannot expand ~: HOME is not set")
	}
	return filepath.Join(home, p[1:]), nil
}
