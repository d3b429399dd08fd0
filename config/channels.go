package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// ChannelTypeDingTalk is the channel_list type this build runs.
const ChannelTypeDingTalk = "dingtalk"

// LegacyBotName names the one bot of a config in the pre-version-3 layout
// (channels.dingtalk), as PicoClaw's own migration names it.
const LegacyBotName = "dingtalk"

// DingTalkBot is one DingTalk robot (one app, one Stream connection),
// from either config generation: channels.dingtalk (PicoClaw v0.2.6 and
// older, named LegacyBotName) or a channel_list entry of type "dingtalk"
// (version 3, named by its key).
type DingTalkBot struct {
	Name string
	// Section is where the bot is configured: "channels.dingtalk" or
	// "channel_list.<name>". Path builds field paths from it.
	Section string
	DingTalkConfig
	// modelFrom and workspaceFrom name where an agent's model or
	// workspace came from (agents.list[i]), for errors; empty when the
	// bot's own settings hold them.
	modelFrom, workspaceFrom string
}

// Path returns the json path of one of the bot's keys (a DingTalkConfig
// json name) as the user wrote it: in a channel_list entry PicoClaw keeps
// the credentials, and this build its extra keys, under "settings".
func (b DingTalkBot) Path(key string) string {
	if strings.HasPrefix(b.Section, "channel_list.") && isSettingsKey(key) {
		return b.Section + ".settings." + key
	}
	return b.Section + "." + key
}

// EnabledDingTalkBots returns the enabled bots in file order.
func (c *Config) EnabledDingTalkBots() []DingTalkBot {
	var out []DingTalkBot
	for _, b := range c.DingTalkBots {
		if b.Enabled {
			out = append(out, b)
		}
	}
	return out
}

// dingTalkEntry is a version 3 channel_list entry of type "dingtalk".
// The top-level keys are PicoClaw's common channel fields; Typing and
// Placeholder are PicoClaw's and not acted on here.
type dingTalkEntry struct {
	Enabled            bool         `json:"enabled"`
	Type               string       `json:"type" env:"-"`
	AllowFrom          StringList   `json:"allow_from"`
	ReasoningChannelID string       `json:"reasoning_channel_id"`
	GroupTrigger       GroupTrigger `json:"group_trigger"`
	Typing             struct {
		Enabled bool `json:"enabled"`
	} `json:"typing" env:"-"`
	Placeholder struct {
		Enabled bool       `json:"enabled"`
		Text    StringList `json:"text"`
	} `json:"placeholder" env:"-"`
	Settings dingTalkSettings `json:"settings"`
}

// dingTalkSettings is channel_list.<name>.settings: PicoClaw's client_id
// and client_secret, and this build's extra keys.
type dingTalkSettings struct {
	ClientID          string                   `json:"client_id"`
	ClientSecret      string                   `json:"client_secret" secret:"true"`
	APIBase           string                   `json:"api_base"`
	ReplyAtSender     *bool                    `json:"reply_at_sender"`
	ThinkingReaction  *bool                    `json:"thinking_reaction"`
	CardTemplateID    string                   `json:"card_template_id"`
	CardUpdateMs      int                      `json:"card_update_ms"`
	ChatLimit         int                      `json:"chat_limit"`
	ChatWindowSeconds int                      `json:"chat_window_seconds"`
	GroupAllowFrom    StringList               `json:"group_allow_from"`
	Groups            map[string]GroupSettings `json:"groups"`
	ModelName         string                   `json:"model_name"`
	Workspace         string                   `json:"workspace"`
	Agent             string                   `json:"agent"`
}

func (e dingTalkEntry) config() DingTalkConfig {
	return DingTalkConfig{
		Enabled:            e.Enabled,
		ClientID:           e.Settings.ClientID,
		ClientSecret:       e.Settings.ClientSecret,
		AllowFrom:          e.AllowFrom,
		GroupTrigger:       e.GroupTrigger,
		ReasoningChannelID: e.ReasoningChannelID,
		ReplyAtSender:      e.Settings.ReplyAtSender,
		ThinkingReaction:   e.Settings.ThinkingReaction,
		CardTemplateID:     e.Settings.CardTemplateID,
		CardUpdateMs:       e.Settings.CardUpdateMs,
		APIBase:            e.Settings.APIBase,
		ChatLimit:          e.Settings.ChatLimit,
		ChatWindowSeconds:  e.Settings.ChatWindowSeconds,
		GroupAllowFrom:     e.Settings.GroupAllowFrom,
		Groups:             e.Settings.Groups,
		ModelName:          e.Settings.ModelName,
		Workspace:          e.Settings.Workspace,
		Agent:              e.Settings.Agent,
	}
}

// namedEntry is a decoded dingtalk entry with its channel_list key.
type namedEntry struct {
	name  string
	entry dingTalkEntry
}

func isSettingsKey(key string) bool {
	_, ok := fieldByJSONName(reflect.ValueOf(&dingTalkSettings{}).Elem(), key)
	return ok
}

// entryKeys are the common (non-settings) keys of a channel_list entry.
var entryKeys = []string{"allow_from", "reasoning_channel_id", "group_trigger"}

// decodeChannelList decodes channel_list (raw, from the generic JSON tree)
// in the key order given (the file's; keys missing from order follow,
// sorted). Entries of other types are reported as warnings and skipped:
// this build runs only DingTalk, and PicoClaw configs list many others.
func (d *decoder) decodeChannelList(raw any, order []string) []namedEntry {
	if raw == nil {
		return nil
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		d.typeErr("channel_list", "an object", raw)
		return nil
	}
	keys := slices.DeleteFunc(slices.Clone(order), func(k string) bool { _, ok := obj[k]; return !ok })
	for _, k := range sortedKeys(obj) {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	var out []namedEntry
	for _, name := range keys {
		path := "channel_list." + name
		if strings.HasPrefix(name, "_") || obj[name] == nil {
			continue // a comment, or a null entry (PicoClaw drops those)
		}
		m, ok := obj[name].(map[string]any)
		if !ok {
			d.typeErr(path, "an object", obj[name])
			continue
		}
		// PicoClaw takes the type from the key when it is missing.
		typ := name
		if t, present := m["type"]; present {
			s, ok := t.(string)
			if !ok {
				d.typeErr(path+".type", "a string", t)
				continue
			}
			typ = s
		}
		if typ != ChannelTypeDingTalk {
			// PicoClaw's other channels, switched off, are no news.
			if enabled(m) || !picoclawChannel(typ) {
				d.warnings = append(d.warnings, fmt.Sprintf("config: %s: channel type %q is not supported by this build (ignored)", path, typ))
			}
			continue
		}
		d.moveMisplaced(path, m)
		var e dingTalkEntry
		d.decode(path, m, reflect.ValueOf(&e).Elem())
		e.Type = typ
		out = append(out, namedEntry{name: name, entry: e})
	}
	return out
}

// moveMisplaced puts keys written at the wrong level of an entry where
// PicoClaw reads them (credentials under settings, allow_from and the
// group trigger beside it), with a warning, when the right place is empty.
// Ignoring them instead could silently drop an allow list. Set in both
// places is an error.
func (d *decoder) moveMisplaced(path string, entry map[string]any) {
	settings, _ := entry["settings"].(map[string]any)
	move := func(from, to map[string]any, key, fromPath, toPath string) {
		v, ok := from[key]
		if !ok {
			return
		}
		delete(from, key)
		if isEmptyJSON(v) {
			return
		}
		if !isEmptyJSON(to[key]) {
			d.errs = append(d.errs, &FieldError{Path: fromPath + "." + key, Msg: "also set at " + toPath + "." + key + "; keep one"})
			return
		}
		to[key] = v
		d.warnings = append(d.warnings, fmt.Sprintf("config: %s.%s belongs at %s.%s (where PicoClaw reads it); used from there", fromPath, key, toPath, key))
	}
	for _, key := range sortedKeys(entry) {
		if key != "settings" && isSettingsKey(key) {
			if settings == nil {
				settings = map[string]any{}
				entry["settings"] = settings
			}
			move(entry, settings, key, path, path+".settings")
		}
	}
	if settings == nil {
		return
	}
	for _, key := range entryKeys {
		move(settings, entry, key, path+".settings", path)
	}
}

func isEmptyJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}

// migrateLegacyDingTalk applies PicoClaw's migration rules for the
// pre-version-3 channels.dingtalk object (m, from the generic JSON tree):
// up to version 1 a top-level mention_only becomes
// group_trigger.mention_only; group_trigger_prefix becomes
// group_trigger.prefixes unless those are set.
func migrateLegacyDingTalk(m map[string]any, version int64) {
	gt, _ := m["group_trigger"].(map[string]any)
	ensureGT := func() map[string]any {
		if gt == nil {
			gt = map[string]any{}
			m["group_trigger"] = gt
		}
		return gt
	}
	if mo, ok := m["mention_only"]; ok && version < 2 {
		delete(m, "mention_only")
		ensureGT()["mention_only"] = mo
	}
	if p, ok := m["group_trigger_prefix"]; ok {
		delete(m, "group_trigger_prefix")
		if _, set := ensureGT()["prefixes"]; !set {
			gt["prefixes"] = p
		}
	}
}

// objectKeyOrder returns the keys of the object at top-level key "key" of
// the JSON text, in file order. The generic tree loses it, and "the first
// bot" should be the first one the user wrote. Any parse problem yields
// nil: the caller falls back to sorted keys, and Parse reports the error.
func objectKeyOrder(data []byte, key string) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		if t != key {
			if dec.Decode(new(json.RawMessage)) != nil {
				return nil
			}
			continue
		}
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return nil
		}
		var keys []string
		for dec.More() {
			k, err := dec.Token()
			if err != nil || dec.Decode(new(json.RawMessage)) != nil {
				return nil
			}
			if s, ok := k.(string); ok && !slices.Contains(keys, s) {
				keys = append(keys, s)
			}
		}
		return keys
	}
	return nil
}

// buildBots sets c.DingTalkBots from the v0.2.6 section (already in
// c.Channels.DingTalk, env applied) or the channel_list entries, applying
// the entries' PICOCLAW_CHANNEL_LIST_<NAME>_… overrides. inFile says
// whether the file has a channels.dingtalk object.
func buildBots(c *Config, entries []namedEntry, inFile bool, getenv func(string) string, warnings *[]string, errs *[]error) {
	if len(entries) > 0 && inFile {
		// PicoClaw's migration of a pre-version-3 file replaces
		// channel_list with channels; a version 3 file has no channels.
		if c.Version >= 3 {
			*warnings = append(*warnings, "config: channels.dingtalk is ignored: a version 3 config reads its bots from channel_list")
		} else {
			*warnings = append(*warnings, fmt.Sprintf("config: channel_list is ignored: a version %d config reads channels.dingtalk (set \"version\": 3 to use channel_list)", c.Version))
			entries = nil
		}
	}
	if len(entries) == 0 {
		c.DingTalkBots = []DingTalkBot{{Name: LegacyBotName, Section: "channels.dingtalk", DingTalkConfig: c.Channels.DingTalk}}
		return
	}
	c.DingTalkBots = nil
	for _, ne := range entries {
		section := "channel_list." + ne.name
		ge := getenv
		if len(entries) == 1 {
			ge = legacyEnvFallback(section, getenv)
		}
		e := ne.entry
		applyEnv(section, reflect.ValueOf(&e).Elem(), ge, errs)
		c.DingTalkBots = append(c.DingTalkBots, DingTalkBot{Name: ne.name, Section: section, DingTalkConfig: e.config()})
	}
}

// legacyEnvFallback lets the PICOCLAW_CHANNELS_DINGTALK_* variables (the
// ones PicoClaw itself still reads for DingTalk credentials, and the ones
// this project documented first) reach the only DingTalk entry of a
// version 3 config; the entry's own variables win.
func legacyEnvFallback(section string, getenv func(string) string) func(string) string {
	prefix := EnvName(section) + "_"
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			return ""
		}
		return getenv(EnvName("channels.dingtalk") + "_" + strings.TrimPrefix(rest, "SETTINGS_"))
	}
}
