package mcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"picoclaw"
)

// ConnectTimeout bounds starting one server, its handshake and listing
// its tools; a server slower than that is skipped.
const ConnectTimeout = 30 * time.Second

// ServerConfig describes one MCP server (tools.mcp.servers.<name>).
type ServerConfig struct {
	// Type is "stdio", or "http" / "streamable-http" / "sse" for the
	// streamable-HTTP transport; empty means stdio when Command is set.
	Type    string
	Command string
	Args    []string
	// Env is added to the command's environment, which is this process's
	// minus its PICOCLAW_* variables (they hold this assistant's secrets).
	Env map[string]string
	URL string
	// Headers are sent with every HTTP request.
	Headers map[string]string
}

func (c ServerConfig) stdio() bool {
	switch strings.ToLower(strings.TrimSpace(c.Type)) {
	case "stdio":
		return true
	case "":
		return strings.TrimSpace(c.Command) != ""
	}
	return false
}

// Manager holds the sessions with the connected servers and their tools.
type Manager struct {
	logger    *slog.Logger
	sessions  []*sdk.ClientSession
	tools     []picoclaw.Tool
	closeOnce sync.Once
	closeErr  error
}

// Connect starts or dials every server in servers at once, waits for each
// to answer (at most ConnectTimeout), and lists its tools. A server that
// fails is logged and skipped. The only error is ctx ending first; then
// nothing stays connected.
func Connect(ctx context.Context, servers map[string]ServerConfig, logger *slog.Logger) (*Manager, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{logger: logger}
	names := slices.Sorted(maps.Keys(servers))
	type result struct {
		session *sdk.ClientSession
		tools   []picoclaw.Tool
		err     error
	}
	results := make([]result, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			s, tools, err := connectOne(ctx, name, servers[name], logger)
			results[i] = result{s, tools, err}
		})
	}
	wg.Wait()

	taken := map[string]bool{}
	for i, r := range results {
		name := names[i]
		if r.err != nil {
			logger.Warn("mcp: server skipped", "server", name, "err", r.err)
			continue
		}
		m.sessions = append(m.sessions, r.session)
		for _, t := range r.tools {
			mt := t.(*tool)
			mt.name = uniqueName(mt.name, taken)
			m.tools = append(m.tools, mt)
		}
		logger.Info("mcp: server connected", "server", name, "tools", len(r.tools))
	}
	if err := ctx.Err(); err != nil {
		m.Close()
		return nil, fmt.Errorf("mcp: connect: %w", err)
	}
	return m, nil
}

// Tools returns a tool for every tool of every connected server, servers
// in name order, each server's tools in the order it listed them.
func (m *Manager) Tools() []picoclaw.Tool { return slices.Clone(m.tools) }

// Close ends every session, stopping stdio servers. It is safe to call
// more than once.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		var errs []error
		for _, s := range m.sessions {
			if err := s.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			m.closeErr = fmt.Errorf("mcp: close: %w", errors.Join(errs...))
		}
	})
	return m.closeErr
}

func connectOne(ctx context.Context, name string, cfg ServerConfig, logger *slog.Logger) (*sdk.ClientSession, []picoclaw.Tool, error) {
	ctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
	defer cancel()
	transport, err := newTransport(name, cfg, logger)
	if err != nil {
		return nil, nil, err
	}
	client := sdk.NewClient(&sdk.Implementation{Name: "picoclaw", Version: "1"}, &sdk.ClientOptions{Logger: logger})
	session, err := client.Connect(ctx, transport, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("mcp: connect to %s: %w", name, redact(err, cfg.URL))
	}
	var tools []picoclaw.Tool
	for t, err := range session.Tools(ctx, nil) {
		if err != nil {
			session.Close()
			return nil, nil, fmt.Errorf("mcp: list tools of %s: %w", name, redact(err, cfg.URL))
		}
		tools = append(tools, newTool(name, t, session, cfg.URL))
	}
	return session, tools, nil
}

func newTransport(name string, cfg ServerConfig, logger *slog.Logger) (sdk.Transport, error) {
	if cfg.stdio() {
		if strings.TrimSpace(cfg.Command) == "" {
			return nil, fmt.Errorf("mcp: %s: no command for a stdio server", name)
		}
		// Not CommandContext: the process must outlive the connect timeout;
		// the session's Close stops it.
		cmd := exec.Command(cfg.Command, cfg.Args...)
		cmd.Env = serverEnv(os.Environ(), cfg.Env)
		cmd.Stderr = &stderrLog{logger: logger, server: name}
		return &sdk.CommandTransport{Command: cmd}, nil
	}
	if strings.TrimSpace(cfg.URL) == "" {
		return nil, fmt.Errorf("mcp: %s: no url for an HTTP server", name)
	}
	return &sdk.StreamableClientTransport{
		Endpoint:   cfg.URL,
		HTTPClient: &http.Client{Transport: &headerTransport{headers: cfg.Headers}},
		// Tools are listed once, so server-initiated messages are of no use;
		// skipping the standing GET stream saves a connection per server.
		DisableStandaloneSSE: true,
	}, nil
}

// serverEnv is base without PICOCLAW_* variables, plus extra (sorted, so
// the environment is the same on every start).
func serverEnv(base []string, extra map[string]string) []string {
	env := slices.DeleteFunc(slices.Clone(base), func(kv string) bool {
		return strings.HasPrefix(kv, "PICOCLAW_")
	})
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		env = append(env, k+"="+extra[k])
	}
	return env
}

// headerTransport adds the configured headers to every request.
type headerTransport struct {
	headers map[string]string
}

func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.headers) > 0 {
		req = req.Clone(req.Context())
		for k, v := range t.headers {
			req.Header.Set(k, v)
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

// redact replaces the server URL in err's text by its scheme, host and
// path: a query or user info may hold a token. Unlike text.Redact, which
// blanks a secret out, it keeps the harmless parts, so the operator still
// sees which server and endpoint failed.
func redact(err error, rawURL string) error {
	if err == nil || rawURL == "" || !strings.Contains(err.Error(), rawURL) {
		return err
	}
	safe := "(url)"
	if u, perr := url.Parse(rawURL); perr == nil {
		safe = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), rawURL, safe), err: err}
}

// redactedError keeps the cause for errors.Is while hiding its text.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// stderrLog logs a stdio server's stderr, line by line, at debug level.
// exec copies stderr from a single goroutine, so no lock is needed.
type stderrLog struct {
	logger  *slog.Logger
	server  string
	partial []byte
}

const maxStderrLine = 1 << 10

func (w *stderrLog) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := slices.Index(w.partial, '\n')
		if i < 0 {
			break
		}
		w.emit(w.partial[:i])
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxStderrLine {
		w.emit(w.partial)
		w.partial = nil
	}
	return len(p), nil
}

func (w *stderrLog) emit(line []byte) {
	s := strings.TrimSpace(string(line[:min(len(line), maxStderrLine)]))
	if s != "" {
		w.logger.Debug("mcp: server stderr", "server", w.server, "line", s)
	}
}
