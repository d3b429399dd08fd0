package main

import (
	"context"
	"fmt"
	"log/slog"

	"picoclaw/agent"
	"picoclaw/config"
	"picoclaw/datadir"
)

// paths are the places on disk a command works with besides the workspace.
type paths struct {
	config string      // the config file: private to the gateway
	data   datadir.Dir // sessions, journal, outbox, routes, cron, media
	// shared holds what several gateways keep in NATS (storage.backend
	// "nats"); nil with the files backend.
	shared *sharedState
	// connected, when set, is closed once the first bot is connected. The
	// exec sandbox's trial (a re-exec of this binary) waits for it, so on
	// a small board it does not compete with connecting; turns wait for
	// the trial anyway.
	connected <-chan struct{}
}

// openDataDir returns the configured data dir, created with its owner-only
// mode, after moving an old in-workspace layout into it (once). configPath
// is the file the config came from.
func openDataDir(cfg *config.Config, configPath string, log *slog.Logger) (paths, error) {
	d, err := datadir.New(cfg.Agents.Defaults.DataDir)
	if err != nil {
		return paths{}, err
	}
	if err := d.Ensure(); err != nil {
		return paths{}, err
	}
	if err := d.CheckApart(cfg.Agents.Defaults.Workspace); err != nil {
		return paths{}, err
	}
	p := paths{config: configPath, data: d}
	return p, migrateDataDir(cfg, d, log)
}

func migrateDataDir(cfg *config.Config, d datadir.Dir, log *slog.Logger) error {
	moved, conflicts, err := datadir.Migrate(cfg.Agents.Defaults.Workspace, d)
	if len(moved) > 0 {
		log.Info("moved the gateway's data out of the workspace", "moved", datadir.Describe(moved),
			"from", cfg.Agents.Defaults.Workspace, "to", d.Root())
	}
	for _, c := range conflicts {
		log.Warn("not moved: the data dir already has an entry of that name; merge it by hand", "path", c, "data_dir", d.Root())
	}
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// private lists what no file tool may touch, even with
// restrict_to_workspace off: the data dir, the config file, and this
// process's /proc entry (its environ holds the PICOCLAW_* secrets).
func (p paths) private() []string {
	out := []string{p.data.Root(), "/proc/self", "/proc/thread-self"}
	if p.config != "" {
		out = append(out, p.config)
	}
	return out
}

// chatMedia tells the file tools the media folder of the chat the turn in
// ctx answers.
func (p paths) chatMedia(ctx context.Context) (string, bool) {
	in, ok := agent.InboundFrom(ctx)
	if !ok {
		return "", false
	}
	key := in.SessionKey()
	if key == "" {
		return "", false
	}
	return p.data.ChatMedia(key), true
}
