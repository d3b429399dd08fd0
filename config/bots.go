package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// LegacyChannelName is the channel name (the first word of session keys,
// and so of session files, routes and outbox records) of a single-bot
// gateway, as every release before several bots wrote it.
const LegacyChannelName = "dingtalk"

// ChannelName returns the name bot b goes by in session keys and outbound
// routing. Data written by a single-bot gateway stays its bot's: a config
// with one DingTalk bot (whatever its name), and the bot named "dingtalk"
// among several, use LegacyChannelName; every other bot of a several-bot
// config uses "dingtalk-<name>", so two bots never share a conversation.
// Keying on names rather than order means disabling or reordering bots
// never hands one bot's conversations to another.
func (c *Config) ChannelName(b DingTalkBot) string {
	if len(c.DingTalkBots) <= 1 || b.Name == LegacyBotName {
		return LegacyChannelName
	}
	return LegacyChannelName + "-" + b.Name
}

// DingTalkBotByChannel returns the bot whose ChannelName is channel.
func (c *Config) DingTalkBotByChannel(channel string) (DingTalkBot, bool) {
	for _, b := range c.DingTalkBots {
		if c.ChannelName(b) == channel {
			return b, true
		}
	}
	return DingTalkBot{}, false
}

// validBotName reports whether a channel_list key can name a bot among
// several: it becomes part of session keys (where ':' separates fields)
// and of file names.
func validBotName(name string) bool {
	return name != "" && !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	})
}

// validateBots checks what several bots in one config need: names usable
// in session keys, each bot's model_name in model_list (marked in used).
func validateBots(c *Config, models []string, used map[string]bool, fail func(path, format string, args ...any)) {
	for _, b := range c.DingTalkBots {
		if len(c.DingTalkBots) > 1 && !validBotName(b.Name) {
			fail(b.Section, "a DingTalk bot's name may hold only letters, digits, '-' and '_' when the config has several bots (it names the bot's conversations: %s:direct:<user id>); rename the entry", c.ChannelName(b))
		}
		if b.Workspace != "" {
			if checkDataDir(b.Workspace, c.Agents.Defaults.DataDir) != "" {
				fail(b.fieldOf("workspace"), "%s and the data dir %s overlap; a bot's workspace must lie outside agents.defaults.data_dir, where tools could read every chat's sessions",
					b.Workspace, c.Agents.Defaults.DataDir)
			}
			// Each workspace is hidden from the others' tools, so none
			// may hold another.
			others := []string{c.Agents.Defaults.Workspace}
			for _, o := range c.DingTalkBots {
				if o.Name != b.Name && o.Workspace != "" && o.Workspace != b.Workspace {
					others = append(others, o.Workspace)
				}
			}
			for _, o := range others {
				if under(o, b.Workspace) || under(b.Workspace, o) {
					fail(b.fieldOf("workspace"), "%s and the workspace %s hold one another; give each bot a folder of its own beside the others", b.Workspace, o)
				}
			}
		}
		if b.ModelName != "" {
			if !slices.Contains(models, b.ModelName) {
				fail(b.fieldOf("model_name"), "%q is not in model_list (%s)", b.ModelName, knownList(models))
			}
			used[b.ModelName] = true
		}
	}
}

// checkDistinctApps refuses two enabled bots of the same DingTalk app:
// DingTalk hands each message to one of an app's connections, so the two
// would answer each other's chats at random.
func checkDistinctApps(bots []DingTalkBot) []error {
	var errs []error
	seen := map[string]string{}
	for _, b := range bots {
		id := strings.TrimSpace(b.ClientID)
		if id == "" {
			continue
		}
		if first, ok := seen[id]; ok {
			errs = append(errs, &FieldError{Path: b.Path("client_id"),
				Msg: fmt.Sprintf("is the same app as %s; each bot needs its own DingTalk app (one app is one robot)", first)})
			continue
		}
		seen[id] = b.Path("client_id")
	}
	return errs
}

// normalizeBotWorkspaces makes each bot's own workspace absolute ("~"
// expanded); one that is agents.defaults.workspace is cleared, so "no
// workspace of its own" has one spelling.
func normalizeBotWorkspaces(c *Config, getenv func(string) string) error {
	for i := range c.DingTalkBots {
		b := &c.DingTalkBots[i]
		if strings.TrimSpace(b.Workspace) == "" {
			b.Workspace = ""
			continue
		}
		ws, err := expandHome(b.Workspace, getenv)
		if err == nil {
			ws, err = filepath.Abs(ws)
		}
		if err != nil {
			return &FieldError{Path: b.fieldOf("workspace"), Msg: err.Error()}
		}
		if ws == c.Agents.Defaults.Workspace {
			ws = ""
		}
		b.Workspace = ws
	}
	return nil
}

// BotWorkspace is the workspace of b's chats: its own, or the default.
func (c *Config) BotWorkspace(b DingTalkBot) string {
	if b.Workspace != "" {
		return b.Workspace
	}
	return c.Agents.Defaults.Workspace
}
