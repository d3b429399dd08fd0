package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"picoclaw"
	"picoclaw/agent"
	"picoclaw/config"
	"picoclaw/datadir"
	"picoclaw/dingtalk"
	"picoclaw/intake"
	"picoclaw/internal/cpuprof"
)

func (e *env) gatewayCommand() *cobra.Command {
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Connect to DingTalk and answer chats",
		Long: `Connect to DingTalk over Stream mode and answer chats until Ctrl-C or SIGTERM.

Credentials come from the config file (--config, else $PICOCLAW_CONFIG, else
~/.picoclaw/config.json): the DingTalk app's client_id and client_secret under
channel_list.dingtalk.settings (or channels.dingtalk), and the model's api_key
under model_list[i] (api_key or api_keys; the file is the only place for
these). Other values can be overridden by a PICOCLAW_* variable named after
their JSON path, e.g. PICOCLAW_CHANNEL_LIST_DINGTALK_SETTINGS_CLIENT_SECRET or
PICOCLAW_CHANNELS_DINGTALK_CLIENT_ID; ` + "`status`" + ` shows what is set without
printing it.

Every enabled DingTalk entry of channel_list runs as its own bot, with its
own connection and conversations; a bot whose credentials DingTalk refuses
is retried while the others answer.

While it runs, http://<gateway.host>:<gateway.port>/health (default
127.0.0.1:18790) reports the process, its outbox and each bot's state, and
/ready answers 200 once every bot is connected.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cpuProfile != "" {
				stop, err := cpuprof.Start(cpuProfile)
				if err != nil {
					return fmt.Errorf("gateway: %w", err)
				}
				defer stop()
			}
			return e.gateway(cmd.Context())
		},
	}
	// Hidden: for profiling under the bench (picoclaw-bench --gateway-cpuprofile).
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the gateway to `FILE` until it stops")
	_ = cmd.Flags().MarkHidden("cpuprofile")
	return cmd
}

func (e *env) gateway(ctx context.Context) error {
	log, err := e.logger()
	if err != nil {
		return err
	}
	cfg, path, err := e.loadConfig(log)
	if err != nil {
		return err
	}
	return e.runGateway(ctx, cfg, path, log)
}

// runGateway runs the gateway of a loaded config (path names it in
// errors) until ctx ends: `gateway`, and `sim` with its config pointed at
// the fake DingTalk.
func (e *env) runGateway(ctx context.Context, cfg *config.Config, path string, log *slog.Logger) error {
	if len(cfg.EnabledDingTalkBots()) == 0 {
		return fmt.Errorf("gateway: no DingTalk bot is enabled in %s; set channel_list.<name>.enabled (or channels.dingtalk.enabled) to true", path)
	}
	// Both checks at once: a freshly onboarded config lists every field
	// still to fill in.
	if err := errors.Join(cfg.CheckDingTalk(path), cfg.CheckModelKeys(path)); err != nil {
		return err
	}
	// One gateway per data dir, checked before anything is opened or
	// connected: two would share the journal and answer twice.
	data, err := datadir.New(cfg.Agents.Defaults.DataDir)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	lock, err := data.Lock()
	if err != nil {
		return err
	}
	defer lock.Unlock()
	paths, err := openDataDir(cfg, path, log)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	// What a reload changes (allow lists, groups) is read from live.
	live := newLiveSettings(cfg)
	// Each enabled bot is its own channel, named by config.ChannelName.
	shared, err := openShared(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if shared != nil {
		defer shared.close()
		paths.shared = shared
	}
	connected := make(chan struct{})
	paths.connected = connected
	bots, err := e.openBots(cfg, paths, live, log, sync.OnceFunc(func() { close(connected) }))
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	// Deferred first, so they run last: the shutdown steps deferred below
	// (dispatcher, outbox) still send through the channels.
	defer func() {
		for _, b := range bots {
			_ = b.ch.Close()
		}
	}()
	lookup := newBotLookup(bots)
	channels := map[string]picoclaw.Channel{}
	apis := map[string]dingtalk.MediaSender{}
	media := map[string]*dingtalk.MediaResolver{}
	for _, b := range bots {
		name := b.ch.Name()
		channels[name] = b.ch
		apis[name] = b.ch.OpenAPI()
		media[name] = &dingtalk.MediaResolver{
			Downloader: b.ch.OpenAPI(), // a bot downloads its own messages' files
			ChatDir:    paths.data.ChatMedia,
			MaxSize:    int64(cfg.Agents.Defaults.MaxMediaSize),
			Vision:     visionOf(cfg),
			Logger:     log.With("component", "media", "channel", name),
		}
	}
	send := func(ctx context.Context, out picoclaw.Outbound) error {
		c, ok := channels[out.Channel]
		if !ok {
			return fmt.Errorf("gateway: send: unknown channel %q", out.Channel)
		}
		return c.Send(ctx, out)
	}
	ob, err := e.openOutbox(paths.data.Outbox(), channels, log)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer e.closeOutbox(ob, log)
	send = viaOutbox(ob, send, log)
	sendFile := dingtalk.NewSendFileToolFor(apis, cfg.Agents.Defaults.Workspace, sendScope(cfg))
	rt, err := newRuntime(ctx, cfg, paths, log, e.transport(), send, sendFile)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer rt.Close()
	if err := rt.models.check(cfg); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	byChannel := lookup.botNames()
	for _, b := range byChannel {
		if b.Workspace != "" {
			if err := rt.addWorkspace(ctx, b.Workspace, dingtalk.NewSendFileToolFor(apis, b.Workspace, sendScope(cfg))); err != nil {
				return fmt.Errorf("gateway: %s: %w", b.Path("workspace"), err)
			}
		}
	}
	rt.router = withWorkspaces(live.router(byChannel, rt.models, log), byChannel, rt)
	box, spill, closeBox, err := paths.journal(log.With("component", "inbox"))
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer closeBox()
	k, err := intake.New(intake.Config{Journal: box, Spill: spill, Send: send, Logger: log, Adopt: func(in picoclaw.Inbound) {
		if ch := lookup.channel(in.Channel); ch != nil {
			ch.Adopt(in)
		}
	}})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	// Closed before the outbox (deferred later, runs earlier): its busy
	// answers go through it.
	defer k.Close()
	disp := rt.agent.NewDispatcher(agent.DispatcherOptions{Logger: log, AfterTurn: withThinkingDone(lookup, k.AfterTurn),
		Attempt: k.Attempt, DeadLetter: k.DeadLetter,
		Stream: func(in picoclaw.Inbound) picoclaw.StreamSink {
			if ch := lookup.channel(in.Channel); ch != nil {
				return ch.StreamSink(in)
			}
			return nil
		},
		Prepare: withThinking(lookup, func(ctx context.Context, in *picoclaw.Inbound) {
			if m, ok := media[in.Channel]; ok && len(in.Attachments) > 0 {
				_ = m.Resolve(ctx, in) // failures become notes for the model
			}
		})})
	k.Attach(disp)
	k.Replay()
	if rt.cron != nil {
		if err := rt.cron.Start(ctx); err != nil {
			return fmt.Errorf("gateway: start cron: %w", err)
		}
	}
	ws := cfg.Agents.Defaults.Workspace

	var storage func() any
	if paths.shared != nil {
		storage = paths.shared.stats
	}
	health, err := startHealth(cfg.Gateway.Host, cfg.Gateway.Port, channels, ob, botStatuses(bots), storage, log)
	if err != nil {
		return err
	}
	defer health.Close()
	stopWatch, err := e.watchConfig(ctx, path, cfg, func(c *config.Config) error {
		return errors.Join(c.CheckDingTalk(path), c.CheckModelKeys(path), rt.models.check(c))
	}, live.apply, log)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer stopWatch()

	names := make([]string, 0, len(bots))
	for _, b := range bots {
		names = append(names, b.Name())
	}
	log.Info("gateway starting", "config", path, "workspace", ws, "data_dir", paths.data.Root(), "model", cfg.Agents.Defaults.ModelName,
		"bots", names, "pid", os.Getpid())
	// The message is on disk before handle returns, that is before the
	// frame is acked: a crash after the ack loses nothing.
	defer e.announceStop(ctx, disp, log)()
	qctx, stopQueue := context.WithCancel(context.WithoutCancel(ctx))
	queueDone := make(chan error, 1)
	go func() { queueDone <- k.Run(qctx) }()
	runErr := runBots(ctx, bots, k.Accept, log)
	// The shared queue stops handing over messages first; turns running
	// finish (or are released for another gateway) before it lets go of
	// its chats.
	stopQueue()
	e.finishTurns(disp, log)
	if paths.shared != nil {
		// Before Run returns: what the dispatcher dropped goes back to
		// NATS at once, for another gateway, and Run need not wait for it.
		if err := paths.shared.queue.Close(); err != nil {
			log.Warn("gateway: shared queue: hand back unfinished messages", "err", err)
		}
	}
	if err := <-queueDone; err != nil && !errors.Is(err, context.Canceled) {
		log.Error("gateway: shared queue", "err", err)
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return fmt.Errorf("gateway: %w", runErr)
	}
	log.Info("gateway stopped")
	return nil
}

// visionOf says whether the answering model takes images: yes unless its
// model_list entry says "vision": false.
func visionOf(cfg *config.Config) bool {
	ms := cfg.Models(cfg.Agents.Defaults.ModelName)
	return len(ms) == 0 || ms[0].Vision == nil || *ms[0].Vision
}
