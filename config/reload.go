package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
)

// reloadableKeys are the keys of a DingTalk bot that a running gateway
// applies on reload: who may talk to it, and where and when it answers
// (with each group's prompt and model). Everything else (credentials,
// models, the data dir, ports, tools) is read once at start.
var reloadableKeys = []string{"allow_from", "group_trigger", "group_allow_from", "groups"}

// IsReloadable reports whether a bot's key (a DingTalkConfig json name) is
// applied by a running gateway without a restart.
func IsReloadable(key string) bool { return slices.Contains(reloadableKeys, key) }

// Reloadable returns d's keys that a running gateway applies on reload
// (see IsReloadable), the others zero.
func (d DingTalkConfig) Reloadable() DingTalkConfig {
	return DingTalkConfig{AllowFrom: d.AllowFrom, GroupTrigger: d.GroupTrigger, GroupAllowFrom: d.GroupAllowFrom, Groups: d.Groups}
}

// Changes lists the keys that differ between two versions of a config,
// as json paths the way the new file writes them.
type Changes struct {
	// Applied are changed keys a running gateway applies at once.
	Applied []string
	// Restart are changed keys that take effect only after a restart
	// (credentials, models, data dir, ports, tools, bots added or removed).
	Restart []string
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool { return len(c.Applied) == 0 && len(c.Restart) == 0 }

// Diff compares the config a gateway runs (old) with a newly loaded one.
// Values are compared, never reported: the lists hold key paths only, so
// a changed secret shows as its path.
func Diff(old, new *Config) Changes {
	var ch Changes
	// Bots are compared by name: the rest of the document without them.
	strip := func(c *Config) any {
		cp := *c
		cp.Channels = Channels{}
		cp.DingTalkBots = nil
		return generic(cp)
	}
	diffValue("", strip(old), strip(new), &ch.Restart)

	olds := map[string]DingTalkBot{}
	for _, b := range old.DingTalkBots {
		olds[b.Name] = b
	}
	news := map[string]bool{}
	for _, b := range new.DingTalkBots {
		news[b.Name] = true
		ob, ok := olds[b.Name]
		if !ok {
			ch.Restart = append(ch.Restart, b.Section+" (added)")
			continue
		}
		if ob.Section != b.Section {
			ch.Restart = append(ch.Restart, b.Section+" (moved from "+ob.Section+")")
			continue
		}
		om, _ := generic(ob.DingTalkConfig).(map[string]any)
		nm, _ := generic(b.DingTalkConfig).(map[string]any)
		for _, k := range unionKeys(om, nm) {
			to := &ch.Restart
			if IsReloadable(k) {
				to = &ch.Applied
			}
			diffValue(b.Path(k), om[k], nm[k], to)
		}
	}
	for _, b := range old.DingTalkBots {
		if !news[b.Name] {
			ch.Restart = append(ch.Restart, b.Section+" (removed)")
		}
	}
	return ch
}

// generic turns v into the JSON value tree (maps, slices, scalars) that
// encoding/json would write for it.
func generic(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		// Config holds only marshalable types; this is a bug, and every
		// key is then reported as changed rather than none.
		return fmt.Sprintf("unmarshalable: %v", err)
	}
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

// diffValue appends to out the paths under path where a and b differ,
// descending into objects; a list that differs is reported whole.
func diffValue(path string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	// A map of entries (groups) added or removed whole is reported by
	// its entries, so that "groups" gaining its first group names that
	// group; any other object by its own path.
	if m := am; aok && b == nil || bok && a == nil {
		if bok {
			m = bm
		}
		if len(m) == 0 {
			return // null and {} say the same
		}
		if !entries(m) {
			*out = append(*out, path)
			return
		}
		for _, k := range unionKeys(m, nil) {
			*out = append(*out, path+"."+k)
		}
		return
	}
	if aok && bok {
		for _, k := range unionKeys(am, bm) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffValue(p, am[k], bm[k], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) && (!blank(a) || !blank(b)) {
		*out = append(*out, path)
	}
}

// entries reports whether every value of m is an object.
func entries(m map[string]any) bool {
	for _, v := range m {
		if _, ok := v.(map[string]any); !ok {
			return false
		}
	}
	return len(m) > 0
}

// blank reports an absent value, null, or an empty list or object: the
// same setting (none) however it is written.
func blank(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

func unionKeys(a, b map[string]any) []string {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
