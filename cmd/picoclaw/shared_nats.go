package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"picoclaw/config"
	"picoclaw/storage/natsstore"
)

// natsOpenTimeout bounds connecting to NATS and creating the layout at
// start: a gateway that cannot reach its storage says so and exits
// rather than answering with nothing behind it.
const natsOpenTimeout = 30 * time.Second

// openNATSStore connects to storage.nats and readies its layout.
func openNATSStore(ctx context.Context, cfg *config.Config, node string, log *slog.Logger) (*natsstore.Store, error) {
	n := cfg.Storage.NATS
	ctx, cancel := context.WithTimeout(ctx, natsOpenTimeout)
	defer cancel()
	st, err := natsstore.Open(ctx, natsstore.Config{URL: n.URL, Credentials: n.Credentials,
		CAFile: n.TLS.CAFile, CertFile: n.TLS.CertFile, KeyFile: n.TLS.KeyFile,
		Prefix: n.Prefix, Replicas: n.Replicas, Name: "picoclaw " + node}, log.With("component", "nats"))
	if err != nil {
		return nil, fmt.Errorf("storage.nats: %w", err)
	}
	return st, nil
}

// openShared connects to NATS (storage.backend "nats") and returns the
// shared inbox queue, sessions and cron; nil with the files backend.
func openShared(ctx context.Context, cfg *config.Config, log *slog.Logger) (*sharedState, error) {
	if !cfg.Storage.UsesNATS() {
		return nil, nil
	}
	n := cfg.Storage.NATS
	node := n.Node
	if node == "" {
		host, _ := os.Hostname()
		node = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	octx, cancel := context.WithTimeout(ctx, natsOpenTimeout)
	defer cancel()
	st, err := openNATSStore(octx, cfg, node, log)
	if err != nil {
		return nil, err
	}
	q, err := natsstore.NewQueue(octx, st.JetStream(), natsstore.QueueConfig{Prefix: n.Prefix, Node: node,
		Partitions: n.Partitions, Replicas: n.Replicas, LeaseTTL: time.Duration(n.LeaseSeconds) * time.Second,
		ReleaseWait: releaseWait(cfg), Logger: log.With("component", "queue", "node", node)})
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("storage.nats: %w", err)
	}
	log.Info("storage: NATS JetStream", "storage", cfg.Storage.String(), "node", node)
	return &sharedState{
		queue:    q,
		sessions: st.Sessions(),
		routes:   st.Routes(),
		stats: func() any {
			return map[string]any{"backend": config.StorageNATS, "queue": q.Stats()}
		},
		cronOptions: st.CronOptions(),
		close: func() {
			_ = q.Close()
			_ = st.Close()
		},
	}, nil
}

// releaseWait is how long a partition handed to a joining gateway waits
// for its turns in flight: the turn timeout and a minute to send.
func releaseWait(cfg *config.Config) time.Duration {
	if t := cfg.Agents.Defaults.TurnTimeout; t > 0 {
		return time.Duration(t)*time.Second + time.Minute
	}
	return 0 // the queue's default
}
