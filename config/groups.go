package config

import (
	"fmt"
	"slices"
	"strings"
)

// GroupDefaultsKey is the groups key whose settings apply to every group
// without its own entry, and fill what a group's entry leaves unset.
const GroupDefaultsKey = "*"

// GroupSettings is groups.<conversationId> of a DingTalk bot (a key of
// this build, not PicoClaw's: channels.dingtalk.groups, or
// channel_list.<name>.settings.groups). Unset fields, and empty lists,
// inherit from groups."*", then from the bot: an empty allow_from never
// opens a group to everyone by accident (write ["*"] for that).
type GroupSettings struct {
	// Enabled false makes the bot ignore the group.
	Enabled     *bool    `json:"enabled"`
	MentionOnly *bool    `json:"mention_only"`
	Prefixes    []string `json:"prefixes"`
	// SystemPrompt is added to the workspace prompt for this group's turns.
	SystemPrompt string `json:"system_prompt"`
	// AllowFrom replaces the bot's allow_from in this group: these users
	// may use the bot there.
	AllowFrom StringList `json:"allow_from"`
	// ModelName answers this group instead of agents.defaults.model_name.
	ModelName string `json:"model_name"`
}

// EffectiveGroup is what applies in one group chat once the group's
// entry, groups."*" and the bot's own settings are merged.
type EffectiveGroup struct {
	// Answered is false when group_allow_from leaves the group out or its
	// settings say enabled: false; the bot then ignores the group.
	Answered     bool
	MentionOnly  bool
	Prefixes     []string
	AllowFrom    []string
	SystemPrompt string
	ModelName    string // "" means agents.defaults.model_name
	// Off names the key that leaves the group unanswered ("" when
	// Answered): "group_allow_from", or "enabled" of its own entry or of
	// "*".
	Off string
}

// Group returns the settings in effect in the group chat conversationID.
func (d DingTalkConfig) Group(conversationID string) EffectiveGroup {
	own, hasOwn := d.Groups[conversationID]
	all := d.Groups[GroupDefaultsKey]
	layers := []GroupSettings{all}
	if hasOwn && conversationID != GroupDefaultsKey {
		layers = []GroupSettings{own, all}
	}
	g := EffectiveGroup{
		Answered:    d.groupListed(conversationID),
		MentionOnly: d.GroupTrigger.MentionOnlyOrDefault(),
		Prefixes:    d.GroupTrigger.Prefixes,
		AllowFrom:   d.AllowFrom,
	}
	// The most specific layer that sets a field wins; "enabled": true
	// never overrides group_allow_from.
	enabled, enabledBy := true, ""
	keys := []string{GroupDefaultsKey}
	if len(layers) == 2 {
		keys = []string{conversationID, GroupDefaultsKey}
	}
	for i := len(layers) - 1; i >= 0; i-- {
		l := layers[i]
		if l.Enabled != nil {
			enabled, enabledBy = *l.Enabled, "groups."+keys[i]+".enabled"
		}
		if l.MentionOnly != nil {
			g.MentionOnly = *l.MentionOnly
		}
		if len(l.Prefixes) > 0 {
			g.Prefixes = l.Prefixes
		}
		if len(l.AllowFrom) > 0 {
			g.AllowFrom = l.AllowFrom
		}
		if l.SystemPrompt != "" {
			g.SystemPrompt = l.SystemPrompt
		}
		if l.ModelName != "" {
			g.ModelName = l.ModelName
		}
	}
	switch {
	case !g.Answered:
		g.Off = "group_allow_from"
	case !enabled:
		g.Answered, g.Off = false, enabledBy
	}
	return g
}

// groupListed reports whether group_allow_from admits the group: an empty
// list or "*" admits every group; entries are bare conversation ids or
// "dingtalk:group:<id>", matched exactly (ids keep their case).
func (d DingTalkConfig) groupListed(conversationID string) bool {
	if len(d.GroupAllowFrom) == 0 {
		return true
	}
	for _, e := range d.GroupAllowFrom {
		if e == "*" || e == conversationID || e == "dingtalk:group:"+conversationID {
			return true
		}
	}
	return false
}

// validateGroups checks one bot's groups and group_allow_from; used
// collects the model names its groups answer with.
func validateGroups(b DingTalkBot, models []string, used map[string]bool, fail func(path, format string, args ...any)) (warnings []string) {
	for _, cid := range sortedKeys(anyKeys(b.Groups)) {
		g := b.Groups[cid]
		path := b.Path("groups") + "." + cid
		if strings.TrimSpace(cid) == "" {
			fail(b.Path("groups"), "has an empty key; use a conversation id, or %q for every group", GroupDefaultsKey)
			continue
		}
		if g.ModelName != "" {
			if !slices.Contains(models, g.ModelName) {
				fail(path+".model_name", "%q is not in model_list (%s)", g.ModelName, knownList(models))
			}
			used[g.ModelName] = true
		}
		if cid != GroupDefaultsKey && !b.groupListed(cid) {
			warnings = append(warnings, fmt.Sprintf("config: %s: the group is not in %s, so it is never answered", path, b.Path("group_allow_from")))
		}
	}
	for i, e := range b.GroupAllowFrom {
		if strings.TrimSpace(e) == "" {
			fail(fmt.Sprintf("%s[%d]", b.Path("group_allow_from"), i), "is empty; use a conversation id or \"*\"")
		}
	}
	return warnings
}

// anyKeys lets sortedKeys order a map of any value type.
func anyKeys[V any](m map[string]V) map[string]any {
	out := make(map[string]any, len(m))
	for k := range m {
		out[k] = nil
	}
	return out
}
