package main

import (
	"fmt"
	"io"
	"strings"

	"picoclaw/config"
)

// printGroupStatus writes the settings each DingTalk bot applies in the
// group chat cid (a conversation id, bare or "dingtalk:group:<id>"): the
// file's groups.<cid>, groups."*" and the bot's own settings merged, as a
// running gateway applies them once it has loaded the file.
func printGroupStatus(w io.Writer, cfg *config.Config, cid string) {
	cid = strings.TrimPrefix(cid, "dingtalk:group:")
	fmt.Fprintf(w, "group:     %s\n", cid)
	for _, b := range cfg.DingTalkBots {
		g := b.Group(cid)
		state := ""
		if !b.Enabled {
			state = " (bot disabled)"
		}
		fmt.Fprintf(w, "  bot %s%s:\n", b.Name, state)
		answered := "yes"
		if !g.Answered {
			answered = "no (" + offPath(b, g.Off) + ")"
		}
		fmt.Fprintf(w, "    answered:      %s\n", answered)
		fmt.Fprintf(w, "    mention_only:  %t\n", g.MentionOnly)
		fmt.Fprintf(w, "    prefixes:      %s\n", listOr(g.Prefixes, "none"))
		fmt.Fprintf(w, "    allow_from:    %s\n", listOr(g.AllowFrom, "everyone"))
		fmt.Fprintf(w, "    system_prompt: %s\n", firstLine(g.SystemPrompt))
		fmt.Fprintf(w, "    model:         %s\n", groupModel(cfg, g.ModelName))
	}
}

// offPath names the key that switches the group off as the file writes it.
func offPath(b config.DingTalkBot, off string) string {
	key, rest, _ := strings.Cut(off, ".")
	if rest == "" {
		return b.Path(key)
	}
	return b.Path(key) + "." + rest
}

func listOr(l []string, none string) string {
	if len(l) == 0 {
		return none
	}
	return strings.Join(l, ", ")
}

// firstLine is the prompt's first line, saying how much more there is.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "(none)"
	}
	first, rest, more := strings.Cut(s, "\n")
	if !more {
		return first
	}
	return fmt.Sprintf("%s (+%d more lines)", first, strings.Count(rest, "\n")+1)
}

// groupModel describes the model a group's turns call.
func groupModel(cfg *config.Config, name string) string {
	how := ""
	if name == "" {
		name, how = cfg.Agents.Defaults.ModelName, " (agents.defaults.model_name)"
	}
	if ms := cfg.Models(name); len(ms) > 0 {
		return fmt.Sprintf("%s → %s%s", name, ms[0].Model, how)
	}
	return name + how
}
