package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"picoclaw"
	"picoclaw/agent"
	"picoclaw/config"
	"picoclaw/cron"
	"picoclaw/provider/pool"
	"picoclaw/session"
	"picoclaw/tools"
	"picoclaw/workspace"
)

// runtime is the agent and what it needs, shared by `gateway` and `agent`.
type runtime struct {
	cfg      *config.Config
	paths    paths
	log      *slog.Logger
	agent    *agent.Agent
	registry *tools.Registry
	// tools is registry as the agent sees it: turns wait for the exec
	// sandbox's trial command (see probedTools).
	tools *probedTools
	cron  *cron.Service // nil when tools.cron is disabled
	mcp   io.Closer     // the MCP connections; nil without MCP servers
	// sessions is the file store this runtime opened (it keeps recent
	// histories open between appends); nil for a shared store.
	sessions io.Closer
	// models are the providers of the model_list names turns may call.
	models *modelSet
	// router gives a chat's turns its own prompt and model (a group's
	// settings); set by the gateway before the first turn, nil for none.
	router func(picoclaw.Inbound) agent.Route
	// shared are the tools every workspace's registry holds (web,
	// message, cron, MCP): made once, whatever the workspaces.
	shared []picoclaw.Tool
	// wsTools are the registries of bots with a workspace of their own.
	wsTools map[string]*probedTools
}

// newRuntime builds the agent. send delivers outbound messages; extra
// tools (e.g. the channel's send_file) are registered too.
func newRuntime(ctx context.Context, cfg *config.Config, p paths, log *slog.Logger, transport http.RoundTripper,
	send func(context.Context, picoclaw.Outbound) error, extra ...picoclaw.Tool) (*runtime, error) {
	ws := cfg.Agents.Defaults.Workspace
	if _, err := workspace.Init(ws, false); err != nil {
		return nil, fmt.Errorf("workspace %s: %w", ws, err)
	}
	var sessions picoclaw.SessionStore
	var closeSessions io.Closer
	if p.shared != nil {
		sessions = p.shared.sessions
	} else {
		s, err := session.Open(p.data.Sessions(), log)
		if err != nil {
			return nil, fmt.Errorf("open sessions: %w", err)
		}
		sessions = s
		closeSessions = s
	}
	models := newModelSet(cfg, &http.Client{Transport: modelTransport(transport)}, log)
	prov, _, err := models.get(cfg.Agents.Defaults.ModelName)
	if err != nil {
		return nil, err
	}
	reg := tools.NewRegistry(log)
	rt := &runtime{cfg: cfg, paths: p, log: log, registry: reg, tools: newProbedTools(reg), models: models, sessions: closeSessions}
	if err := rt.registerTools(ctx, send, extra); err != nil {
		rt.Close()
		return nil, err
	}
	d := cfg.Agents.Defaults
	model := cfg.Models(d.ModelName)[0]
	rt.agent, err = agent.New(agent.Config{
		Provider:                  prov,
		Sessions:                  sessions,
		Send:                      send,
		Tools:                     rt.tools,
		MaxToolIterations:         d.MaxToolIterations,
		Workspace:                 ws,
		Model:                     model.ModelID(),
		ModelEntry:                d.ModelName,
		MaxTokens:                 d.MaxTokens,
		Temperature:               d.Temperature,
		ContextWindow:             d.ContextWindow,
		SummarizeMessageThreshold: d.SummarizeMessageThreshold,
		SummarizeTokenPercent:     d.SummarizeTokenPercent,
		TurnTimeout:               time.Duration(d.TurnTimeout) * time.Second,
		MaxAnswerBytes:            d.MaxAnswerBytes,
		ToolTimeBudget:            time.Duration(d.ToolTimeBudget) * time.Second,
		Logger:                    log,
		Route: func(in picoclaw.Inbound) agent.Route {
			if rt.router == nil {
				return agent.Route{}
			}
			return rt.router(in)
		},
	})
	if err != nil {
		rt.Close()
		return nil, fmt.Errorf("agent: %w", err)
	}
	return rt, nil
}

func (rt *runtime) registerTools(ctx context.Context, send func(context.Context, picoclaw.Outbound) error, extra []picoclaw.Tool) error {
	cfg := rt.cfg
	var shared []picoclaw.Tool
	if wc := cfg.Tools.Web; wc.Enabled {
		opts := tools.WebOptions{AllowPrivate: wc.AllowPrivateFetch}
		if wc.Brave.Enabled {
			opts.BraveAPIKey = wc.Brave.Key()
		}
		web, err := tools.NewWebTools(opts)
		if err != nil {
			return fmt.Errorf("tools.web: %w", err)
		}
		shared = append(shared, web...)
	}
	shared = append(shared, tools.NewMessageTool(send, "dingtalk", sendScope(cfg)))
	if cfg.Tools.Cron.Enabled {
		svc, err := rt.paths.newCron(rt.cfg, rt.runJob(send), rt.log.With("component", "cron"))
		if err != nil {
			return fmt.Errorf("tools.cron: %w", err)
		}
		rt.cron = svc
		shared = append(shared, cron.NewTool(svc, originChat))
	}
	if servers := cfg.ActiveMCPServers(); len(servers) > 0 {
		m, tools, err := connectMCP(ctx, servers, rt.log.With("component", "mcp"))
		if err != nil {
			return fmt.Errorf("tools.mcp: %w", err)
		}
		rt.mcp = m
		shared = append(shared, tools...)
	}
	rt.shared = shared
	return rt.fillTools(ctx, rt.tools, cfg.Agents.Defaults.Workspace, extra)
}

// runJob delivers a cron job: its text as is, or the agent's answer to it.
func (rt *runtime) runJob(send func(context.Context, picoclaw.Outbound) error) func(context.Context, cron.Job) error {
	return func(ctx context.Context, job cron.Job) error {
		if job.Deliver {
			return send(ctx, picoclaw.Outbound{Channel: job.Channel, Chat: job.Chat, Text: job.Message})
		}
		return rt.agent.Turn(ctx, picoclaw.Inbound{
			Channel:   job.Channel,
			Chat:      job.Chat,
			MessageID: fmt.Sprintf("cron-%s-%d", job.ID, time.Now().UnixMilli()),
			Text:      job.Message,
			Received:  time.Now(),
			Session:   job.SessionKey(),
		})
	}
}

// originChat tells tools which chat the current turn answers.
func originChat(ctx context.Context) (string, picoclaw.Peer, bool) {
	in, ok := agent.InboundFrom(ctx)
	if !ok || in.Channel == "" || in.Chat.ID == "" {
		return "", picoclaw.Peer{}, false
	}
	return in.Channel, in.Chat, true
}

// Close releases what the runtime started.
func (rt *runtime) Close() {
	rt.tools.stop()
	for _, t := range rt.wsTools {
		t.stop()
	}
	if rt.agent != nil {
		rt.agent.Close()
	}
	if rt.cron != nil {
		rt.cron.Stop()
	}
	if rt.mcp != nil {
		_ = rt.mcp.Close()
	}
	if rt.sessions != nil {
		_ = rt.sessions.Close() // every append was synced: nothing to lose
	}
}

// newPool builds the provider for the model_list name (the default
// agents.defaults.model_name, or a group's) and agents.defaults.model_fallbacks.
func newPool(cfg *config.Config, name string, hc *http.Client, log *slog.Logger) (picoclaw.Provider, error) {
	names := []string{name}
	for _, f := range cfg.Agents.Defaults.ModelFallbacks {
		if !slices.Contains(names, f) {
			names = append(names, f)
		}
	}
	var groups []*pool.Group
	for _, name := range names {
		entries := cfg.Models(name)
		if len(entries) == 0 {
			return nil, fmt.Errorf("model %q is not in model_list", name)
		}
		g := &pool.Group{Name: name}
		for _, m := range entries {
			if m.Enabled != nil && !*m.Enabled {
				continue
			}
			p, id, err := providerFor(m, hc, log)
			if err != nil {
				return nil, err
			}
			g.Members = append(g.Members, pool.Member{Name: name, Model: id, Provider: p})
		}
		if len(g.Members) == 0 {
			return nil, fmt.Errorf("model %q: every model_list entry is disabled", name)
		}
		groups = append(groups, g)
	}
	return pool.New(groups, log)
}
