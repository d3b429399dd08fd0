package config

import (
	"fmt"
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
		if b.ModelName != "" {
			if !slices.Contains(models, b.ModelName) {
				fail(b.Path("model_name"), "%q is not in model_list (%s)", b.ModelName, knownList(models))
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
