package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"picoclaw"
	"picoclaw/agent"
	"picoclaw/config"
	"picoclaw/datadir"
	"picoclaw/dingtalk"
	"picoclaw/inbox"
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

While it runs, http://<gateway.host>:<gateway.port>/health (default
127.0.0.1:18790) reports the process and its outbox, and /ready answers 200
once every channel is connected.`,
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
	bots := cfg.EnabledDingTalkBots()
	if len(bots) == 0 {
		return fmt.Errorf("gateway: no DingTalk bot is enabled in %s; set channel_list.<name>.enabled (or channels.dingtalk.enabled) to true", path)
	}
	// Both checks at once: a freshly onboarded config lists every field
	// still to fill in.
	if err := errors.Join(cfg.CheckDingTalk(path), cfg.CheckModelKeys(path)); err != nil {
		return err
	}
	// cfg.Channels.DingTalk is the first enabled bot; running several in
	// one gateway is a later step.
	if len(bots) > 1 {
		others := make([]string, 0, len(bots)-1)
		for _, b := range bots[1:] {
			others = append(others, b.Name)
		}
		log.Warn("gateway: several DingTalk bots are enabled; this build runs only the first", "running", bots[0].Name, "not_running", others)
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
	ch, err := e.dingtalkChannel(cfg, paths, live, bots[0].Name, log)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	// Deferred first, so it runs last: the shutdown steps deferred below
	// (dispatcher, outbox) still send through the channel.
	defer ch.Close()
	channels := map[string]picoclaw.Channel{ch.Name(): ch}
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
	sendFile := dingtalk.NewSendFileTool(ch.OpenAPI(), cfg.Agents.Defaults.Workspace, sendScope(cfg))
	rt, err := newRuntime(ctx, cfg, paths, log, e.transport(), send, sendFile)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer rt.Close()
	if err := rt.models.check(cfg); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	rt.router = live.router(bots[0].Name, ch.Name(), rt.models, log)
	box, err := inbox.Open(paths.data.Inbox(), log.With("component", "inbox"))
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	defer box.Close()
	media := &dingtalk.MediaResolver{
		Downloader: ch.OpenAPI(),
		ChatDir:    paths.data.ChatMedia,
		MaxSize:    int64(cfg.Agents.Defaults.MaxMediaSize),
		Vision:     visionOf(cfg),
		Logger:     log.With("component", "media"),
	}
	k, err := intake.New(intake.Config{Journal: box, Send: send, Logger: log})
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	// Closed before the outbox (deferred later, runs earlier): its busy
	// answers go through it.
	defer k.Close()
	disp := rt.agent.NewDispatcher(agent.DispatcherOptions{Logger: log, AfterTurn: withThinkingDone(ch, k.AfterTurn),
		Attempt: k.Attempt, DeadLetter: k.DeadLetter, Stream: ch.StreamSink,
		Prepare: withThinking(ch, func(ctx context.Context, in *picoclaw.Inbound) {
			if in.Channel == dingtalk.ChannelName && len(in.Attachments) > 0 {
				_ = media.Resolve(ctx, in) // failures become notes for the model
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

	health, err := startHealth(cfg.Gateway.Host, cfg.Gateway.Port, channels, ob, log)
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

	log.Info("gateway starting", "config", path, "workspace", ws, "data_dir", paths.data.Root(), "model", cfg.Agents.Defaults.ModelName, "pid", os.Getpid())
	// The message is on disk before handle returns, that is before the
	// frame is acked: a crash after the ack loses nothing.
	defer e.announceStop(ctx, disp, log)()
	runErr := ch.Run(ctx, k.Accept)
	e.finishTurns(disp, log)
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

// dingtalkChannel builds the DingTalk channel from the first enabled bot
// (cfg.Channels.DingTalk, whichever layout the file used).
func (e *env) dingtalkChannel(cfg *config.Config, p paths, live *liveSettings, bot string, log *slog.Logger) (*dingtalk.Channel, error) {
	dt := cfg.Channels.DingTalk
	return dingtalk.NewChannel(dingtalk.ChannelConfig{
		ClientID:           dt.ClientID,
		ClientSecret:       dt.ClientSecret,
		APIBase:            dt.APIBase,
		AllowFrom:          dt.AllowFrom,
		MentionOnly:        dt.GroupTrigger.MentionOnlyOrDefault(),
		Prefixes:           dt.GroupTrigger.Prefixes,
		Group:              live.groupRule(bot),
		Direct:             live.directAllow(bot),
		ReasoningChannelID: dt.ReasoningChannelID,
		ReplyAtSender:      dt.ReplyAtSender,
		ThinkingReaction:   dt.ThinkingReaction,
		CardTemplateID:     dt.CardTemplateID,
		CardUpdate:         dt.CardUpdateInterval(),
		StateDir:           p.data.State(),
		UserAgent:          userAgent(),
		Logger:             log.With("channel", "dingtalk"),
		// A generous bound: media downloads of up to max_media_size.
		HTTPClient: &http.Client{Transport: e.transport(), Timeout: 2 * time.Minute},
		ChatLimit:  dt.ChatLimit,
		ChatWindow: time.Duration(dt.ChatWindowSeconds) * time.Second,
		// Stream open, token, sends and webhooks: 15 s each (0 = default).
		CallTimeout:  e.tuning.callTimeout,
		CallRetryMin: e.tuning.minBackoff, CallRetryMax: e.tuning.maxBackoff,
	})
}
