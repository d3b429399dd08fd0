package config

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"
)

// DefaultWatchInterval is how often a Watcher looks at the file.
const DefaultWatchInterval = 2 * time.Second

// WatchOptions configures a Watcher.
type WatchOptions struct {
	// Path is the config file; Getenv the environment it is loaded with
	// (nil: os.Getenv), the same as at start.
	Path   string
	Getenv func(string) string
	// Current is the config the process runs.
	Current *Config
	// Check rejects a new config the running process cannot take beyond
	// what Load validates (credentials missing, a model not started);
	// nil accepts every valid config.
	Check func(*Config) error
	// Apply swaps in a valid new config; changes are the reloadable keys
	// that differ from the config applied before. Reloads run one at a
	// time, so Apply is never called concurrently.
	Apply func(cfg *Config, changes Changes)
	// Interval between two looks at the file (default DefaultWatchInterval).
	Interval time.Duration
	Logger   *slog.Logger // nil discards
	// Done, when set, is told the outcome of every reload attempt (nil:
	// applied). Tests wait on it.
	Done func(error)
}

// Watcher reloads a config file when its contents change, or when asked
// (SIGHUP). A valid new version is handed to Apply and logged in one info
// line listing what changed, and which changed keys need a restart and
// are not applied; an invalid one is logged in one error line and the
// process keeps the config it runs.
type Watcher struct {
	opts    WatchOptions
	log     *slog.Logger
	started *Config // what runs for the keys a reload does not apply

	mu      sync.Mutex
	applied *Config  // the last config handed to Apply (or Current)
	seen    [32]byte // the file contents last reloaded (or tried)
	pending [32]byte // a change seen once, reloaded when it stays the same
}

// NewWatcher reads the file once to know its present contents.
func NewWatcher(opts WatchOptions) (*Watcher, error) {
	if opts.Path == "" || opts.Current == nil || opts.Apply == nil {
		return nil, errors.New("config: new watcher: Path, Current and Apply are required")
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultWatchInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{opts: opts, log: opts.Logger, started: opts.Current, applied: opts.Current}
	data, err := os.ReadFile(opts.Path)
	w.seen = fingerprint(data, err)
	w.pending = w.seen
	return w, nil
}

// Run watches until ctx ends, reloading at every signal from trigger too
// (SIGHUP; nil: none).
func (w *Watcher) Run(ctx context.Context, trigger <-chan os.Signal) {
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-trigger:
			w.Reload()
		case <-t.C:
			w.poll()
		}
	}
}

// poll reloads when the file's contents changed and then stayed the same
// for one interval: an editor that writes the file in place is not caught
// half-way.
func (w *Watcher) poll() {
	data, err := os.ReadFile(w.opts.Path)
	sum := fingerprint(data, err)
	w.mu.Lock()
	defer w.mu.Unlock()
	if sum == w.seen {
		w.pending = sum
		return
	}
	if sum != w.pending {
		w.pending = sum
		return
	}
	w.reloadLocked(data, err)
}

// Reload reads the file and applies it now, changed or not, and returns
// what it logged as an error (nil: applied).
func (w *Watcher) Reload() error {
	data, err := os.ReadFile(w.opts.Path)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reloadLocked(data, err)
}

func (w *Watcher) reloadLocked(data []byte, readErr error) (err error) {
	w.seen = fingerprint(data, readErr)
	w.pending = w.seen
	if w.opts.Done != nil {
		defer func() { w.opts.Done(err) }()
	}
	var (
		cfg      *Config
		warnings []string
	)
	switch {
	case errors.Is(readErr, fs.ErrNotExist):
		err = fmt.Errorf("config: %s: file is missing: %w", w.opts.Path, readErr)
	case readErr != nil:
		err = fmt.Errorf("config: read %s: %w", w.opts.Path, readErr)
	default:
		cfg, warnings, err = LoadData(w.opts.Path, data, w.opts.Getenv)
	}
	if err == nil && w.opts.Check != nil {
		err = w.opts.Check(cfg)
	}
	if err != nil {
		w.log.Error("config reload failed; still running on the previous config", "file", w.opts.Path, "err", err)
		return err
	}
	applied := Diff(w.applied, cfg).Applied
	restart := Diff(w.started, cfg).Restart
	w.opts.Apply(cfg, Changes{Applied: applied, Restart: restart})
	w.applied = cfg
	attrs := []any{"file", w.opts.Path, "applied", orNone(applied), "needs_restart", orNone(restart)}
	if len(warnings) > 0 {
		attrs = append(attrs, "warnings", warnings)
	}
	w.log.Info("config reloaded", attrs...)
	return nil
}

// fingerprint identifies the file's contents, or the reason it could not
// be read, so that one unreadable state is reported once.
func fingerprint(data []byte, err error) [32]byte {
	if err != nil {
		return sha256.Sum256([]byte("error: " + err.Error()))
	}
	return sha256.Sum256(data)
}

func orNone(keys []string) any {
	if len(keys) == 0 {
		return "none"
	}
	return keys
}
