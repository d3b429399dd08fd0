package main

import (
	"context"
	"log/slog"
	"time"

	"picoclaw/config"
)

// doctorStorageTimeout bounds the NATS check: a wrong URL must not hang
// the doctor.
const doctorStorageTimeout = 10 * time.Second

// doctorStorage checks that NATS (storage.backend "nats") is reachable
// and its layout usable, the way a gateway opens it.
func doctorStorage(ctx context.Context, r *doctorReport, cfg *config.Config) {
	if !cfg.Storage.UsesNATS() {
		r.ok("storage", "files in "+cfg.Agents.Defaults.DataDir)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, doctorStorageTimeout)
	defer cancel()
	st, err := openNATSStore(ctx, cfg, "doctor", slog.New(slog.DiscardHandler))
	if err != nil {
		r.fail("storage", err.Error(), "start NATS with JetStream (nats-server -js) or fix storage.nats.url, credentials and tls")
		return
	}
	_ = st.Close()
	r.ok("storage", cfg.Storage.String()+": connected, layout ready")
}
