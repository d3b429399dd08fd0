package agent

import (
	"context"
	"strings"

	"picoclaw"
)

// Route is how the turns of one chat differ from the agent's defaults: a
// group's own instructions and model (the gateway's groups.<id> settings).
// The zero Route changes nothing.
type Route struct {
	// Prompt is added after the system prompt, under a heading of its
	// own, so the model tells it from the workspace files.
	Prompt string
	// Provider, when set, answers instead of Config.Provider, with Model
	// (the id sent on the wire) and ModelEntry (the model_list name, shown
	// by /model) in place of Config.Model and Config.ModelEntry.
	Provider   picoclaw.Provider
	Model      string
	ModelEntry string
	// Workspace and Tools, when set, replace Config.Workspace (the
	// prompt's files) and Config.Tools for the turn: a bot with a
	// workspace of its own, whose tools reach that workspace only.
	Workspace string
	Tools     ToolRunner
}

// routePromptHeading introduces a Route's Prompt in the system prompt.
const routePromptHeading = "\n## Instructions for this chat (set by the bot's owner)\n\n"

// turnModel is the model a turn calls, with the names /model shows.
type turnModel struct {
	provider    picoclaw.Provider
	model       string
	entry       string
	extraPrompt string
	prompts     *PromptBuilder // nil: the agent's
	tools       ToolRunner     // nil: Config.Tools
}

type turnModelKey struct{}

// route resolves the Route of in's chat against the defaults. It is
// called once per turn, so a reloaded setting applies from the next turn.
func (a *Agent) route(in picoclaw.Inbound) turnModel {
	tm := turnModel{provider: a.cfg.Provider, model: a.cfg.Model, entry: a.cfg.ModelEntry}
	if a.cfg.Route == nil {
		return tm
	}
	r := a.cfg.Route(in)
	if p := strings.TrimSpace(r.Prompt); p != "" {
		tm.extraPrompt = routePromptHeading + p + "\n"
	}
	if r.Provider != nil {
		tm.provider, tm.model, tm.entry = r.Provider, r.Model, r.ModelEntry
	}
	if r.Workspace != "" {
		tm.prompts = a.promptsFor(r.Workspace)
	}
	tm.tools = r.Tools
	return tm
}

// promptsFor returns the prompt builder of workspace, made once: it
// caches the workspace's files between turns.
func (a *Agent) promptsFor(workspace string) *PromptBuilder {
	a.wsMu.Lock()
	defer a.wsMu.Unlock()
	if p, ok := a.wsPrompts[workspace]; ok {
		return p
	}
	if a.wsPrompts == nil {
		a.wsPrompts = map[string]*PromptBuilder{}
	}
	p := NewPromptBuilder(workspace)
	a.wsPrompts[workspace] = p
	return p
}

// promptsOf is the prompt builder of tm's turn.
func (a *Agent) promptsOf(tm turnModel) *PromptBuilder {
	if tm.prompts != nil {
		return tm.prompts
	}
	return a.prompts
}

// withTurnModel returns ctx whose model calls (the turn's, its compaction
// and its sub-agents') go to tm.
func withTurnModel(ctx context.Context, tm turnModel) context.Context {
	return context.WithValue(ctx, turnModelKey{}, tm)
}

// modelOf returns the model of ctx's turn, or the defaults.
func (a *Agent) modelOf(ctx context.Context) turnModel {
	if tm, ok := ctx.Value(turnModelKey{}).(turnModel); ok {
		return tm
	}
	return turnModel{provider: a.cfg.Provider, model: a.cfg.Model, entry: a.cfg.ModelEntry}
}
