package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"picoclaw"
	"picoclaw/config"
	"picoclaw/dingtalk"
	"picoclaw/internal/backoff"
)

// gatewayBot is one DingTalk bot of the gateway: its config, its channel
// (own Stream connection, credentials, policy, routes, limits, cards) and
// what /health and `status` say about it.
type gatewayBot struct {
	cfg config.DingTalkBot
	ch  *dingtalk.Channel
	// authErr is set while DingTalk refuses the bot's credentials.
	authErr atomic.Bool
}

// Name is the bot's config name (the channel_list key, "dingtalk" for
// channels.dingtalk).
func (b *gatewayBot) Name() string { return b.cfg.Name }

// openBots builds a channel for each enabled bot.
// onConnected runs each time any bot's Stream connection opens.
func (e *env) openBots(cfg *config.Config, p paths, live *liveSettings, log *slog.Logger, onConnected func()) ([]*gatewayBot, error) {
	var bots []*gatewayBot
	for _, bc := range cfg.EnabledDingTalkBots() {
		ch, err := e.dingtalkChannel(bc, cfg.ChannelName(bc), p, live, log, onConnected)
		if err != nil {
			for _, b := range bots {
				_ = b.ch.Close()
			}
			return nil, fmt.Errorf("DingTalk bot %s: %w", bc.Section, err)
		}
		bots = append(bots, &gatewayBot{cfg: bc, ch: ch})
	}
	return bots, nil
}

// dingtalkChannel builds the channel of one bot, named name (see
// config.ChannelName). Everything a bot has of its own is set here; what
// a reload changes (allow lists, groups) is read from live.
func (e *env) dingtalkChannel(bot config.DingTalkBot, name string, p paths, live *liveSettings, log *slog.Logger, onConnected func()) (*dingtalk.Channel, error) {
	dt := bot.DingTalkConfig
	// The single-bot layout keeps its routes where they always were; the
	// other bots' chats (and session webhooks) are their own.
	state := p.data.State()
	if name != config.LegacyChannelName {
		state = filepath.Join(state, name)
	}
	logger := log.With("channel", name)
	if bot.Name != name {
		logger = logger.With("bot", bot.Name)
	}
	var shared dingtalk.RouteShare
	if p.shared != nil {
		shared = p.shared.routes
	}
	return dingtalk.NewChannel(dingtalk.ChannelConfig{
		Name:               name,
		CredentialKeys:     bot.Path("client_id") + "/client_secret",
		ClientID:           dt.ClientID,
		ClientSecret:       dt.ClientSecret,
		APIBase:            dt.APIBase,
		AllowFrom:          dt.AllowFrom,
		MentionOnly:        dt.GroupTrigger.MentionOnlyOrDefault(),
		Prefixes:           dt.GroupTrigger.Prefixes,
		Group:              live.groupRule(bot.Name),
		Direct:             live.directAllow(bot.Name),
		ReasoningChannelID: dt.ReasoningChannelID,
		ReplyAtSender:      dt.ReplyAtSender,
		ThinkingReaction:   dt.ThinkingReaction,
		CardTemplateID:     dt.CardTemplateID,
		CardUpdate:         dt.CardUpdateInterval(),
		StateDir:           state,
		ShareRoutes:        p.shared != nil,
		SharedRoutes:       shared,
		OnConnected:        onConnected,
		UserAgent:          userAgent(),
		Logger:             logger,
		// A generous bound: media downloads of up to max_media_size.
		HTTPClient: &http.Client{Transport: e.transport(), Timeout: 2 * time.Minute},
		ChatLimit:  dt.ChatLimit,
		ChatWindow: time.Duration(dt.ChatWindowSeconds) * time.Second,
		// Stream open, token, sends and webhooks: 15 s each (0 = default).
		CallTimeout:  e.tuning.callTimeout,
		CallRetryMin: e.tuning.minBackoff, CallRetryMax: e.tuning.maxBackoff,
	})
}

// newAuthRetry paces a bot whose credentials DingTalk refused while
// other bots run: the secret may be fixed (or the app re-enabled) on
// DingTalk's side without a restart.
func newAuthRetry() *backoff.Backoff {
	return &backoff.Backoff{Min: 10 * time.Second, Max: 5 * time.Minute}
}

// runBots runs every bot until ctx ends. A bot whose credentials are
// refused is logged with its name and the keys to fix, and retried with
// backoff while any other bot is still usable; when every bot is refused
// at once (a single bot's wrong secret included) the gateway stops with
// their errors, as it always did for one bot. Any other error from a bot
// stops the gateway.
func runBots(ctx context.Context, bots []*gatewayBot, handle func(picoclaw.Inbound), log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		refused  = map[string]error{}
		fatalErr error
		wg       sync.WaitGroup
	)
	for _, b := range bots {
		wg.Go(func() {
			wait := newAuthRetry()
			for {
				err := b.ch.Run(ctx, handle)
				if ctx.Err() != nil {
					return
				}
				if err == nil {
					err = errors.New("stopped")
				}
				err = fmt.Errorf("DingTalk bot %q: %w", b.Name(), err)
				if !errors.Is(err, picoclaw.ErrAuth) {
					mu.Lock()
					fatalErr = cmp.Or(fatalErr, err)
					mu.Unlock()
					cancel()
					return
				}
				mu.Lock()
				refused[b.Name()] = err
				all := len(refused) == len(bots)
				mu.Unlock()
				if all {
					cancel()
					return
				}
				log.Error("gateway: DingTalk refused this bot's credentials; the other bots keep running, this one is retried",
					"bot", b.Name(), "fix", b.cfg.Path("client_id")+", "+b.cfg.Path("client_secret"), "err", err)
				// After the log line: whoever sees the state finds the reason.
				b.authErr.Store(true)
				if wait.Wait(ctx) != nil {
					return
				}
				mu.Lock()
				delete(refused, b.Name())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if fatalErr != nil {
		return fatalErr
	}
	if len(refused) == len(bots) && len(bots) > 0 {
		errs := make([]error, 0, len(bots))
		for _, b := range bots {
			errs = append(errs, refused[b.Name()])
		}
		return errors.Join(errs...)
	}
	return nil
}

// botStatus is one bot as /health reports it (and `status` prints it).
type botStatus struct {
	Name    string `json:"name"`
	Channel string `json:"channel"`
	// State is "connected", "connecting" (not yet, or reconnecting) or
	// "credentials rejected" (retried; see the gateway's log).
	State       string     `json:"state"`
	LastMessage *time.Time `json:"last_message,omitempty"`
}

func (b *gatewayBot) status() botStatus {
	s := botStatus{Name: b.Name(), Channel: b.ch.Name(), State: "connecting"}
	switch {
	case b.ch.Connected():
		s.State = "connected"
		b.authErr.Store(false)
	case b.authErr.Load():
		s.State = "credentials rejected"
	}
	if t := b.ch.LastMessage(); !t.IsZero() {
		s.LastMessage = &t
	}
	return s
}

// botLookup finds the bot of an inbound message's channel.
type botLookup map[string]*gatewayBot

func newBotLookup(bots []*gatewayBot) botLookup {
	m := botLookup{}
	for _, b := range bots {
		m[b.ch.Name()] = b
	}
	return m
}

// botNames maps each channel name to its bot's config, for the agent's
// per-turn route.
func (l botLookup) botNames() map[string]config.DingTalkBot {
	m := make(map[string]config.DingTalkBot, len(l))
	for channel, b := range l {
		m[channel] = b.cfg
	}
	return m
}

// channel returns the DingTalk channel named name, or nil.
func (l botLookup) channel(name string) *dingtalk.Channel {
	if b, ok := l[name]; ok {
		return b.ch
	}
	return nil
}

// botStatuses lists the bots' states, in config order, for /health.
func botStatuses(bots []*gatewayBot) func() []botStatus {
	return func() []botStatus {
		out := make([]botStatus, 0, len(bots))
		for _, b := range bots {
			out = append(out, b.status())
		}
		return out
	}
}
