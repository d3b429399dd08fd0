package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"picoclaw"
	"picoclaw/internal/backoff"
)

// Client defaults.
const (
	DefaultAPIBase     = "https://api.dingtalk.com"
	DefaultIdleTimeout = 60 * time.Second
	DefaultPingTimeout = 5 * time.Second
	// DefaultOpenTimeout bounds the connections/open call: an endpoint
	// that answers late keeps the bot offline no longer than this.
	DefaultOpenTimeout = 15 * time.Second
	// DefaultUserAgent is the ua reported on open when Config has none.
	DefaultUserAgent = "picoclaw/dev"

	// healthyAfter: a socket up this long counts as healthy even if quiet,
	// so the next failure starts the backoff from Min again.
	healthyAfter = 30 * time.Second
	// drainTimeout bounds how long a socket told to disconnect is kept
	// reading; the real server closes it about 10 s after the frame.
	drainTimeout = 30 * time.Second
)

// Config configures a Client. ClientID, ClientSecret and Handler are
// required; every other field has a default.
type Config struct {
	ClientID, ClientSecret string
	APIBase                string       // default "https://api.dingtalk.com"; open URL is APIBase+"/v1.0/gateway/connections/open"
	HTTPClient             *http.Client // nil → a client with sane timeouts
	Logger                 *slog.Logger
	Handler                FrameHandler // CALLBACK and EVENT frames; returns the ack code
	OnConnected            func()       // optional: called each time a socket is open and reading
	IdleTimeout            time.Duration
	PingTimeout            time.Duration
	Backoff                *backoff.Backoff // nil → Min 1s, Max 60s
	// OpenTimeout bounds the connections/open call, whatever HTTPClient's
	// own timeout (the channel's client allows minutes for media); default
	// DefaultOpenTimeout.
	OpenTimeout time.Duration
	// UserAgent is reported as the ua of every open (the SDKs send
	// "dingtalk-sdk-go/<version>"); default DefaultUserAgent. The caller
	// knows its build; this package does not read build info.
	UserAgent string
	// CredentialKeys names, in a rejected-credentials error, where the
	// user fixes them; default DefaultCredentialKeys. A gateway with
	// several bots names each bot's own keys.
	CredentialKeys string
}

// DefaultCredentialKeys is where a single bot's credentials are
// configured (PicoClaw v0.2.6's layout).
const DefaultCredentialKeys = "channels.dingtalk.client_id/client_secret"

// Client is a DingTalk Stream Mode client: it opens a connection, reads
// frames, acks them, answers pings, follows disconnects with a warm
// reconnect, and reconnects with backoff on any failure.
type Client struct {
	cfg     Config
	log     *slog.Logger
	openURL string
	openHC  *http.Client // HTTPClient with OpenTimeout
	ua      string
	drain   time.Duration // drainTimeout; tests shorten it

	running atomic.Bool
	live    atomic.Int32 // sockets currently reading
}

// New validates cfg and applies defaults.
func New(cfg Config) (*Client, error) {
	switch {
	case cfg.ClientID == "":
		return nil, errors.New("dingtalk: stream: client id is empty")
	case cfg.ClientSecret == "":
		return nil, errors.New("dingtalk: stream: client secret is empty")
	case cfg.Handler == nil:
		return nil, errors.New("dingtalk: stream: handler is nil")
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	u, err := url.Parse(cfg.APIBase)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("dingtalk: stream: api base %q is not an http(s) URL", cfg.APIBase)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = DefaultPingTimeout
	}
	if cfg.Backoff == nil {
		cfg.Backoff = &backoff.Backoff{Min: time.Second, Max: 60 * time.Second}
	}
	openHC := *cfg.HTTPClient
	openHC.Timeout = cmp.Or(cfg.OpenTimeout, DefaultOpenTimeout)
	return &Client{
		cfg:     cfg,
		log:     cfg.Logger,
		openURL: strings.TrimRight(cfg.APIBase, "/") + openPath,
		openHC:  &openHC,
		ua:      cmp.Or(cfg.UserAgent, DefaultUserAgent),
		drain:   drainTimeout,
	}, nil
}

// Connected reports whether a socket is open and reading now.
func (s *Client) Connected() bool { return s.live.Load() > 0 }

// errDisconnect marks a server-requested reconnect (SYSTEM disconnect).
var errDisconnect = errors.New("server sent disconnect")

// Run connects and serves until ctx ends (then it closes the socket
// normally and returns nil) or the credentials are rejected before any
// connection ever succeeded (then it returns an error wrapping
// picoclaw.ErrAuth). Every other failure is retried with backoff.
func (s *Client) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("dingtalk: stream: Run is already running")
	}
	defer s.running.Store(false)

	conns := &connSet{m: map[*streamConn]struct{}{}}
	defer conns.closeAll() // waits for every reader and watchdog
	b := s.cfg.Backoff
	connectedOnce := false
	for {
		c, err := s.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, picoclaw.ErrAuth) {
				if !connectedOnce {
					return err
				}
				// Credentials revoked while running: keep trying, slowly.
				s.log.Error("dingtalk stream: credentials rejected; retrying", "err", err)
				if backoff.Sleep(ctx, b.Ceiling()) != nil {
					return nil
				}
				continue
			}
			s.log.Warn("dingtalk stream: connect failed; retrying", "err", err)
			if b.Wait(ctx) != nil {
				return nil
			}
			continue
		}
		connectedOnce = true
		conns.start(c, s)
		s.log.Info("dingtalk stream connected", "conn", c.n)
		if s.cfg.OnConnected != nil {
			s.cfg.OnConnected()
		}

		cause := s.serve(ctx, c, b)
		if ctx.Err() != nil {
			return nil
		}
		s.log.Info("dingtalk stream reconnecting", "conn", c.n, "cause", cause)
		if errors.Is(cause, errDisconnect) {
			// Warm reconnect: the old socket keeps reading (and acking)
			// until the server closes it or drainTimeout passes.
			c.startDrain()
			if c.wasHealthy() {
				continue
			}
		} else {
			c.closeNow()
		}
		if b.Wait(ctx) != nil {
			return nil
		}
	}
}

// serve waits for c to end, to be told to disconnect, or for ctx; it resets
// the backoff once c has proven healthy.
func (s *Client) serve(ctx context.Context, c *streamConn, b *backoff.Backoff) error {
	upLongEnough := time.NewTimer(healthyAfter)
	defer upLongEnough.Stop()
	healthy := c.healthy
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.cause()
		case <-c.disconnect:
			return errDisconnect
		case <-healthy:
			healthy = nil
			b.Reset()
		case <-upLongEnough.C:
			c.markHealthy()
			b.Reset()
		}
	}
}

// connSet tracks the sockets of one Run so that it can close them all.
type connSet struct {
	mu sync.Mutex
	m  map[*streamConn]struct{}
	n  int
	wg sync.WaitGroup
}

func (cs *connSet) start(c *streamConn, s *Client) {
	cs.mu.Lock()
	cs.n++
	c.n = cs.n
	cs.m[c] = struct{}{}
	cs.mu.Unlock()
	s.live.Add(1)
	cs.wg.Add(2)
	go func() {
		defer cs.wg.Done()
		defer s.live.Add(-1)
		s.readLoop(c)
		cs.mu.Lock()
		delete(cs.m, c)
		cs.mu.Unlock()
	}()
	go func() {
		defer cs.wg.Done()
		c.watchdog(s.cfg.IdleTimeout, s.cfg.PingTimeout, s.drain)
	}()
}

func (cs *connSet) closeAll() {
	cs.mu.Lock()
	all := make([]*streamConn, 0, len(cs.m))
	for c := range cs.m {
		all = append(all, c)
	}
	cs.mu.Unlock()
	for _, c := range all {
		c.closeNormal()
	}
	cs.wg.Wait()
}
