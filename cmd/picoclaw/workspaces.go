package main

import (
	"context"
	"fmt"
	"slices"

	"picoclaw"
	"picoclaw/agent"
	"picoclaw/config"
	"picoclaw/tools"
	"picoclaw/workspace"
)

// fillTools registers in t the tools of workspace ws: the file tools and
// exec rooted there (exec once its sandbox trial passes), the shared
// ones, and extra.
func (rt *runtime) fillTools(ctx context.Context, t *probedTools, ws string, extra []picoclaw.Tool) error {
	cfg := rt.cfg
	restrict := cfg.Agents.Defaults.RestrictToWorkspace == nil || *cfg.Agents.Defaults.RestrictToWorkspace
	private := rt.privateFor(ws)
	list := tools.NewFSToolsWith(tools.FSOptions{Workspace: ws, Restrict: restrict,
		Private: private, ChatMedia: rt.paths.chatMedia})
	ex, trial, err := execTool(cfg, ws, private, restrict, rt.paths.chatMediaList, rt.log)
	if err != nil {
		return fmt.Errorf("tools.exec: %w", err)
	}
	if ex != nil && trial == nil {
		list = append(list, ex)
	}
	list = append(list, rt.shared...)
	for _, tool := range append(list, extra...) {
		if err := t.reg.Register(tool); err != nil {
			return fmt.Errorf("register tool: %w", err)
		}
	}
	if trial != nil {
		t.trial(ctx, rt.paths.connected, trial, ex, rt.log)
	} else {
		t.settle()
	}
	return nil
}

// addWorkspace readies a bot's own workspace ws: its template files, and
// a registry whose file tools, exec and extra (send_file) reach ws only.
// The bot's turns get it through workspaceRoute.
func (rt *runtime) addWorkspace(ctx context.Context, ws string, extra ...picoclaw.Tool) error {
	if _, ok := rt.wsTools[ws]; ok {
		return nil
	}
	if _, err := workspace.Init(ws, false); err != nil {
		return fmt.Errorf("workspace %s: %w", ws, err)
	}
	t := newProbedTools(tools.NewRegistry(rt.log))
	if rt.wsTools == nil {
		rt.wsTools = map[string]*probedTools{}
	}
	rt.wsTools[ws] = t
	if err := rt.fillTools(ctx, t, ws, extra); err != nil {
		return fmt.Errorf("workspace %s: %w", ws, err)
	}
	return nil
}

// workspaceTools returns the registry addWorkspace made for ws, nil for
// the default workspace.
func (rt *runtime) workspaceTools(ws string) *probedTools {
	if ws == "" {
		return nil
	}
	return rt.wsTools[ws]
}

// privateFor is what the tools of workspace ws must never reach: the
// gateway's own files, and every other workspace (another bot's prompt
// files and memory are that bot's users' business).
func (rt *runtime) privateFor(ws string) []string {
	private := rt.paths.private()
	others := []string{rt.cfg.Agents.Defaults.Workspace}
	for _, b := range rt.cfg.DingTalkBots {
		others = append(others, b.Workspace)
	}
	for _, o := range others {
		if o != "" && o != ws && !slices.Contains(private, o) {
			private = append(private, o)
		}
	}
	return private
}

// withWorkspaces adds to route's answer the workspace and tools of the
// bots (by channel name) that have a workspace of their own.
func withWorkspaces(route func(picoclaw.Inbound) agent.Route, bots map[string]config.DingTalkBot, rt *runtime) func(picoclaw.Inbound) agent.Route {
	return func(in picoclaw.Inbound) agent.Route {
		r := route(in)
		if b, ok := bots[in.Channel]; ok && b.Workspace != "" {
			if t := rt.workspaceTools(b.Workspace); t != nil {
				r.Workspace, r.Tools = b.Workspace, t
			}
		}
		return r
	}
}
