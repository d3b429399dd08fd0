package config

import (
	"fmt"
	"slices"
	"strings"
)

// PicoClaw's agents.list gives agents their own workspace and model, and
// its bindings route a channel to one. This build reads just that much:
// a bot bound to an agent (bindings[].match.channel = the bot's name, no
// peer, any account) or naming one (settings.agent) takes the agent's
// workspace and model where its own settings name none.

// listedAgent is what this build uses of an agents.list entry.
type listedAgent struct {
	path, workspace, model string
}

// applyAgents resolves each bot's agent from the raw document.
func applyAgents(c *Config, raw any, errs *[]error) {
	top, _ := raw.(map[string]any)
	agents := map[string]listedAgent{}
	if a, ok := top["agents"].(map[string]any); ok {
		list, _ := a["list"].([]any)
		for i, e := range list {
			m, _ := e.(map[string]any)
			id, _ := m["id"].(string)
			if strings.TrimSpace(id) == "" {
				continue
			}
			la := listedAgent{path: fmt.Sprintf("agents.list[%d]", i)}
			la.workspace, _ = m["workspace"].(string)
			switch mv := m["model"].(type) { // "name" or {"primary": "name", "fallbacks": […]}
			case string:
				la.model = mv
			case map[string]any:
				la.model, _ = mv["primary"].(string)
			}
			agents[id] = la
		}
	}
	bound := map[string]string{}
	bindings, _ := top["bindings"].([]any)
	for _, e := range bindings {
		m, _ := e.(map[string]any)
		match, _ := m["match"].(map[string]any)
		id, _ := m["agent_id"].(string)
		ch, _ := match["channel"].(string)
		acct, _ := match["account_id"].(string)
		if id == "" || ch == "" || match["peer"] != nil || (acct != "" && acct != "*") {
			continue // peer- and account-specific routes are not modelled
		}
		bound[ch] = id
	}
	for i := range c.DingTalkBots {
		b := &c.DingTalkBots[i]
		id, from := b.Agent, b.Path("agent")
		if id == "" {
			id, from = bound[b.Name], "bindings"
		}
		if id == "" {
			continue
		}
		la, ok := agents[id]
		if !ok {
			*errs = append(*errs, &FieldError{Path: from, Msg: fmt.Sprintf("names agent %q, which agents.list does not hold (%s)", id, knownAgents(agents))})
			continue
		}
		if b.Workspace == "" && la.workspace != "" {
			b.Workspace, b.workspaceFrom = la.workspace, la.path+".workspace"
		}
		if b.ModelName == "" && la.model != "" {
			b.ModelName, b.modelFrom = la.model, la.path+".model"
		}
	}
}

func knownAgents(agents map[string]listedAgent) string {
	if len(agents) == 0 {
		return "it lists none"
	}
	ids := make([]string, 0, len(agents))
	for id := range agents {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return "known: " + strings.Join(ids, ", ")
}

// fieldOf is the path errors about a bot's key should name: where the
// value came from.
func (b DingTalkBot) fieldOf(key string) string {
	switch {
	case key == "model_name" && b.modelFrom != "":
		return b.modelFrom
	case key == "workspace" && b.workspaceFrom != "":
		return b.workspaceFrom
	}
	return b.Path(key)
}
