package main

import (
	"context"
	"log/slog"

	"picoclaw"
	"picoclaw/config"
	"picoclaw/cron"
	"picoclaw/dingtalk"
	"picoclaw/inbox"
	"picoclaw/intake"
)

// sharedState is what gateways serving the same bots share through NATS
// JetStream (storage.backend "nats"): the inbox queue, sessions and cron.
// The outbox, media and the exec sandbox's scratch stay in each
// gateway's data dir.
type sharedState struct {
	queue interface {
		intake.Queue
		// Close hands back the messages the dispatcher dropped at shutdown.
		Close() error
	}
	sessions picoclaw.SessionStore
	// routes keeps each chat's latest reply route for every gateway.
	routes dingtalk.RouteShare
	// stats is what /health shows of the shared storage.
	stats func() any
	// cronOptions put the cron jobs in NATS and claim each firing there.
	cronOptions cron.Options
	close       func()
}

// newCron builds the cron service of the configured backend.
func (p paths) newCron(cfg *config.Config, run func(context.Context, cron.Job) error, log *slog.Logger) (*cron.Service, error) {
	opts := cron.Options{Path: p.data.CronJobs()}
	if p.shared != nil {
		opts = p.shared.cronOptions
	}
	opts.MinEverySeconds = int64(cfg.Tools.Cron.MinEverySeconds)
	return cron.NewServiceWith(opts, run, log)
}

// journal opens the inbox journal of the configured backend, and with a
// shared queue the data dir's inbox as its spill (messages NATS cannot
// take wait there, see intake.Config.Spill); close releases them.
func (p paths) journal(log *slog.Logger) (j, spill intake.Journal, closeFn func(), err error) {
	box, err := inbox.Open(p.data.Inbox(), log)
	if err != nil {
		return nil, nil, nil, err
	}
	closeFn = func() { _ = box.Close() }
	if p.shared != nil {
		return p.shared.queue, box, closeFn, nil
	}
	return box, nil, closeFn, nil
}
