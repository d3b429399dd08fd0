package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"picoclaw"
	"picoclaw/agent"
	"picoclaw/config"
	"picoclaw/dingtalk"
)

// liveSettings holds, per bot name, the settings a reload changes while the
// gateway runs: who may talk to the bot, which groups it answers and how,
// and each group's prompt and model. The channel's policy and the agent's
// Route read them at every message, so a swap applies from the next one.
type liveSettings struct {
	bots atomic.Pointer[map[string]config.DingTalkConfig]
}

func newLiveSettings(cfg *config.Config) *liveSettings {
	l := &liveSettings{}
	m := make(map[string]config.DingTalkConfig, len(cfg.DingTalkBots))
	for _, b := range cfg.DingTalkBots {
		m[b.Name] = b.Reloadable()
	}
	l.bots.Store(&m)
	return l
}

// apply swaps in cfg's reloadable settings of the bots the gateway runs;
// a bot new to the file waits for a restart (the reload line says so).
func (l *liveSettings) apply(cfg *config.Config) {
	m := maps.Clone(*l.bots.Load())
	for _, b := range cfg.DingTalkBots {
		if _, ok := m[b.Name]; ok {
			m[b.Name] = b.Reloadable()
		}
	}
	l.bots.Store(&m)
}

// bot returns the settings of the bot named name now.
func (l *liveSettings) bot(name string) config.DingTalkConfig {
	return (*l.bots.Load())[name]
}

// groupRule is the channel's per-group policy of one bot.
func (l *liveSettings) groupRule(bot string) func(string) dingtalk.GroupRule {
	return func(cid string) dingtalk.GroupRule {
		g := l.bot(bot).Group(cid)
		return dingtalk.GroupRule{Answered: g.Answered, MentionOnly: g.MentionOnly, Prefixes: g.Prefixes, AllowFrom: g.AllowFrom}
	}
}

// directAllow is the channel's allow list of private chats of one bot.
func (l *liveSettings) directAllow(bot string) func() []string {
	return func() []string { return l.bot(bot).AllowFrom }
}

// router gives the turns of each bot (bots by channel name) its model:
// a group chat's system_prompt and model_name, else the bot's own
// model_name (settings.model_name, read at start), else the default.
// Every model_name was built by modelSet.check when its config was
// loaded, so get does not fail here; if it did, the turn is answered by
// the default model and says so in the log.
func (l *liveSettings) router(bots map[string]config.DingTalkBot, models *modelSet, log *slog.Logger) func(picoclaw.Inbound) agent.Route {
	return func(in picoclaw.Inbound) agent.Route {
		bot, ok := bots[in.Channel]
		if !ok {
			return agent.Route{}
		}
		var r agent.Route
		model := bot.ModelName
		if in.Chat.Kind == picoclaw.ChatGroup {
			g := l.bot(bot.Name).Group(in.Chat.ID)
			r.Prompt = g.SystemPrompt
			if g.ModelName != "" {
				model = g.ModelName
			}
		}
		if model == "" {
			return r
		}
		p, id, err := models.get(model)
		if err != nil {
			log.Error("gateway: chat's model unavailable; answering with the default model", "bot", bot.Name, "chat", in.Chat.ID, "err", err)
			return r
		}
		r.Provider, r.Model, r.ModelEntry = p, id, model
		return r
	}
}

// watchConfig reloads the config file on SIGHUP and when its contents
// change, checking each new version with check and handing valid ones to
// apply, until the returned stop is called.
func (e *env) watchConfig(ctx context.Context, path string, cfg *config.Config, check func(*config.Config) error, apply func(*config.Config), log *slog.Logger) (stop func(), err error) {
	w, err := config.NewWatcher(config.WatchOptions{
		Path: path, Getenv: e.getenv, Current: cfg, Check: check,
		Apply:    func(c *config.Config, _ config.Changes) { apply(c) },
		Interval: e.tuning.reloadInterval, Logger: log.With("component", "config"), Done: e.tuning.reloaded,
	})
	if err != nil {
		return nil, fmt.Errorf("watch config: %w", err)
	}
	hup := e.tuning.hup
	unsubscribe := func() {}
	if hup == nil {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGHUP)
		hup, unsubscribe = sig, func() { signal.Stop(sig) }
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, hup)
	}()
	return func() {
		cancel()
		<-done
		unsubscribe()
	}, nil
}
