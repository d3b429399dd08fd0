package natsstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultPrefix names the layout when Config.Prefix is empty.
const DefaultPrefix = "picoclaw"

// Layout settings, reported in the README's layout table.
const (
	// dupWindow is the publish deduplication window of the streams that
	// take a Nats-Msg-Id.
	dupWindow = 2 * time.Minute
	// markerTTL is how long a KV bucket keeps the marker left by a key that
	// expired, so that watchers see the expiry.
	markerTTL = time.Minute
	// claimTTL is how long a cron firing's claim is kept: far longer than
	// any clock skew or delay between gateways evaluating the same slot.
	claimTTL = time.Hour
	// maxReconnectWait bounds the wait between reconnect attempts.
	maxReconnectWait = 2 * time.Second
	// publishRetryWait and publishRetries let a publish ride out a stream
	// leader election (a few seconds) in a cluster; ctx still bounds it.
	publishRetryWait = 250 * time.Millisecond
	publishRetries   = 40
)

// Config says where NATS is and how the layout is named and replicated.
type Config struct {
	// URL is one or more server URLs, comma-separated.
	URL string
	// Credentials is a .creds file (JWT and NKey seed); empty: none.
	Credentials string
	// CAFile, CertFile and KeyFile set TLS: a CA to trust, and a client
	// certificate with its key (both or neither).
	CAFile, CertFile, KeyFile string
	// Prefix names the streams and buckets (default DefaultPrefix).
	Prefix string
	// Replicas of every stream and bucket: 1 or 3 (0 means 1).
	Replicas int
	// Name is the connection's name, shown by the server's monitoring.
	Name string
}

// Store is a connection to NATS with the layout this package owns.
type Store struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	log      *slog.Logger
	prefix   string
	replicas int

	sessionsStream jetstream.Stream
	routesKV       jetstream.KeyValue
	cronKV         jetstream.KeyValue

	sessions *Sessions
	closed   chan struct{} // closed when the connection is
}

// Open connects to NATS and creates or updates the layout. It keeps trying
// to connect until ctx ends; once connected, a lost connection is retried
// forever in the background. A layout made by another gateway (or with
// other settings) is updated to this one's settings.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	closed := make(chan struct{})
	nc, err := connect(ctx, cfg, log, closed)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncMaxPending(256),
	)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("natsstore: jetstream: %w", err)
	}
	s := &Store{nc: nc, js: js, log: log, prefix: cfg.Prefix, replicas: cfg.Replicas, closed: closed}
	if err := s.ensureLayout(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	s.sessions = newSessions(s)
	return s, nil
}

func (c *Config) validate() error {
	if strings.TrimSpace(c.URL) == "" {
		return errors.New("natsstore: url: missing; expected a server URL such as nats://127.0.0.1:4222")
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	for _, r := range c.Prefix {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return fmt.Errorf("natsstore: prefix %q: expected letters, digits and '-' only", c.Prefix)
		}
	}
	switch c.Replicas {
	case 0:
		c.Replicas = 1
	case 1, 3:
	default:
		return fmt.Errorf("natsstore: replicas: %d; expected 1 or 3", c.Replicas)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("natsstore: tls: cert_file and key_file go together; set both or neither")
	}
	// The client reads these files only while connecting, where a missing
	// one would look like an unreachable server: check them now.
	for _, f := range []struct{ field, path string }{
		{"credentials", c.Credentials}, {"tls.ca_file", c.CAFile},
		{"tls.cert_file", c.CertFile}, {"tls.key_file", c.KeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return fmt.Errorf("natsstore: %s: %w", f.field, err)
		}
	}
	return nil
}

// redactURLs returns urls with any user or password removed, for errors
// and logs.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if u, err := url.Parse(p); err == nil && u.User != nil {
			u.User = nil
			p = u.String()
		} else if err != nil && strings.Contains(p, "@") {
			p = "(unparsable URL)"
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

// reconnectDelay backs off from 100 ms to maxReconnectWait, with jitter so
// that many gateways do not reconnect in step.
func reconnectDelay(attempts int) time.Duration {
	d := 100 * time.Millisecond << min(attempts, 5)
	d = min(d, maxReconnectWait)
	return d/2 + rand.N(d/2+1)
}

func connect(ctx context.Context, cfg Config, log *slog.Logger, closed chan struct{}) (*nats.Conn, error) {
	where := redactURLs(cfg.URL)
	var lastErr atomic.Pointer[error] // the last failed attempt's reason
	connected := make(chan struct{}, 1)
	signal := func() {
		select {
		case connected <- struct{}{}:
		default:
		}
	}
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.MaxReconnects(-1),
		nats.RetryOnFailedConnect(true),
		nats.CustomReconnectDelay(reconnectDelay),
		nats.ConnectHandler(func(*nats.Conn) { signal() }),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { lastErr.Store(&err) }),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			signal()
			log.Info("natsstore: reconnected", "server", redactURLs(nc.ConnectedUrlRedacted()))
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("natsstore: disconnected; reconnecting", "err", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("natsstore: async error", "err", err)
		}),
	}
	if cfg.Credentials != "" {
		opts = append(opts, nats.UserCredentials(cfg.Credentials))
	}
	if cfg.CAFile != "" {
		opts = append(opts, nats.RootCAs(cfg.CAFile))
	}
	if cfg.CertFile != "" {
		opts = append(opts, nats.ClientCert(cfg.CertFile, cfg.KeyFile))
	}
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		// Only option errors land here (RetryOnFailedConnect): name the
		// files, which are not secret, not their contents.
		return nil, fmt.Errorf("natsstore: connect to %s: %w", where, err)
	}
	if nc.IsConnected() {
		return nc, nil
	}
	select {
	case <-connected:
		return nc, nil
	case <-ctx.Done():
		last := nc.LastError()
		if p := lastErr.Load(); p != nil {
			last = *p
		}
		nc.Close()
		if last != nil {
			return nil, fmt.Errorf("natsstore: connect to %s: no connection (last error: %w): %w", where, last, ctx.Err())
		}
		return nil, fmt.Errorf("natsstore: connect to %s: no connection: %w", where, ctx.Err())
	}
}

// Names of the layout, derived from the prefix.

func (s *Store) streamName(kind string) string { return strings.ToUpper(s.prefix) + "_" + kind }
func (s *Store) bucketName(kind string) string { return s.prefix + "_" + kind }

// SessionsStream is the name of the sessions stream.
func (s *Store) SessionsStream() string { return s.streamName("SESSIONS") }

func (s *Store) sessionSubject(token string) string { return s.prefix + ".session." + token }

func (s *Store) ensureLayout(ctx context.Context) error {
	sessions, err := s.ensureStream(ctx, jetstream.StreamConfig{
		Name:        s.SessionsStream(),
		Description: "picoclaw conversation histories, one subject per session",
		Subjects:    []string{s.prefix + ".session.>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		MaxAge:      0, // histories stay until replaced or reset
		// Reads go to the stream leader, so that a Load right after
		// another gateway's Append sees it.
		AllowDirect:       false,
		AllowRollup:       true,
		DenyDelete:        false,
		DenyPurge:         false,
		MaxMsgsPerSubject: -1,
		Duplicates:        dupWindow,
	})
	if err != nil {
		return err
	}
	s.sessionsStream = sessions
	// The DEAD stream is the queue's (queue.go): it writes there.
	if s.routesKV, err = s.ensureKV(ctx, jetstream.KeyValueConfig{
		Bucket:         s.bucketName("routes"),
		Description:    "picoclaw reply routes, each expiring with its session webhook",
		History:        1,
		Storage:        jetstream.FileStorage,
		LimitMarkerTTL: markerTTL,
	}); err != nil {
		return err
	}
	if s.cronKV, err = s.ensureKV(ctx, jetstream.KeyValueConfig{
		Bucket:         s.bucketName("cron"),
		Description:    "picoclaw cron jobs and firing claims",
		History:        1,
		Storage:        jetstream.FileStorage,
		LimitMarkerTTL: markerTTL,
	}); err != nil {
		return err
	}
	return nil
}

func (s *Store) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	cfg.Replicas = s.replicas
	st, err := retryLayout(ctx, func(ctx context.Context) (jetstream.Stream, error) { return s.js.CreateOrUpdateStream(ctx, cfg) })
	if err != nil {
		return nil, fmt.Errorf("natsstore: create stream %s: %w", cfg.Name, err)
	}
	return st, nil
}

func (s *Store) ensureKV(ctx context.Context, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	cfg.Replicas = s.replicas
	kv, err := retryLayout(ctx, func(ctx context.Context) (jetstream.KeyValue, error) { return s.js.CreateOrUpdateKeyValue(ctx, cfg) })
	if err != nil {
		return nil, fmt.Errorf("natsstore: create bucket %s: %w", cfg.Bucket, err)
	}
	return kv, nil
}

// JetStream is the JetStream context, for the inbox and leases.
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// Conn is the NATS connection.
func (s *Store) Conn() *nats.Conn { return s.nc }

// Close drains the connection (pending publishes are flushed first) and
// waits until it is closed.
func (s *Store) Close() error {
	if err := s.nc.Drain(); err != nil {
		if errors.Is(err, nats.ErrConnectionClosed) {
			return nil
		}
		s.nc.Close()
		return fmt.Errorf("natsstore: close: %w", err)
	}
	<-s.closed
	return nil
}

// publishOpts are the options of every publish: retries through a leader
// election, on top of the caller's.
func publishOpts(extra ...jetstream.PublishOpt) []jetstream.PublishOpt {
	return append([]jetstream.PublishOpt{
		jetstream.WithRetryWait(publishRetryWait),
		jetstream.WithRetryAttempts(publishRetries),
	}, extra...)
}

// isWrongLastSequence reports a rejected expected-last-sequence publish.
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return false
}
