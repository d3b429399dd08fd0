package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"picoclaw/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// userAgent names this build to DingTalk on every stream open: the
// -ldflags version, else the module version `go install` recorded, else
// "dev" for a source build.
func userAgent() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); v == "dev" && ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return "picoclaw/" + v
}

// env is what every command needs from the process, injected so tests can
// run the CLI in-process.
type env struct {
	stdout, stderr io.Writer
	// stdin replaces os.Stdin in tests (nil: os.Stdin).
	stdin io.Reader
	// interrupts delivers Ctrl-C to the agent REPL, which takes it for
	// "stop this answer" (nil: never; see runProcess).
	interrupts <-chan os.Signal
	// argv0 is os.Args[0] as tests want it seen; "" reads os.Args[0].
	argv0      string
	getenv     func(string) string
	configPath string
	logLevel   string
	// stopNow is cancelled by a second SIGINT/SIGTERM: stop at once
	// (nil: never).
	stopNow context.Context
	// stopBy is when a stopping gateway must be done with its turns and
	// deliveries (the first signal + shutdownGrace); zero until then.
	stopBy atomic.Pointer[time.Time]
	// shared is the HTTP transport of this run, made on first use.
	shared *http.Transport
	// tuning shortens the gateway's waits in in-process tests.
	tuning gatewayTuning
}

// exitError carries a process exit code through cobra.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// run runs the command line; ctx ends at the first signal, stopNow at the
// second.
func run(ctx, stopNow context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdout: stdout, stderr: stderr, getenv: getenv, stopNow: stopNow}
	return e.execute(ctx, args)
}

func (e *env) execute(ctx context.Context, args []string) int {
	root := e.rootCommand()
	root.SetArgs(args)
	if e.stdin != nil {
		root.SetIn(e.stdin)
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintln(e.stderr, "picoclaw:", err)
	return 1
}

func (e *env) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "picoclaw",
		Short:         "A personal AI assistant served in DingTalk",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
	}
	var showVersion bool
	root.PersistentFlags().StringVar(&e.configPath, "config", "", "config file (default $PICOCLAW_CONFIG or ~/.picoclaw/config.json)")
	root.PersistentFlags().StringVar(&e.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.Flags().BoolVar(&showVersion, "version", false, "print the version and exit")
	root.RunE = func(cmd *cobra.Command, _ []string) error {
		if showVersion {
			readBuildInfo(version, debug.ReadBuildInfo).print(e.stdout)
			return nil
		}
		return cmd.Help()
	}
	root.AddCommand(e.gatewayCommand(), e.agentCommand(), e.statusCommand(), e.onboardCommand(), e.doctorCommand(), e.cronCommand(), e.simCommand(), e.versionCommand())
	addExamples(root, e.prog())
	return root
}

func (e *env) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS revision, build date and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			readBuildInfo(version, debug.ReadBuildInfo).print(e.stdout)
			return nil
		},
	}
}

// transport returns the run's shared HTTP transport.
func (e *env) transport() *http.Transport {
	if e.shared == nil {
		e.shared = newTransport(e.getenv)
	}
	return e.shared
}

// logger builds the process logger: text to stderr at the chosen level.
func (e *env) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(e.logLevel))); err != nil {
		return nil, fmt.Errorf("--log-level: expected debug, info, warn or error, got %q", e.logLevel)
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: lvl})), nil
}

// loadConfig loads the config file and logs its warnings.
func (e *env) loadConfig(log *slog.Logger) (*config.Config, string, error) {
	path := e.configPath
	if path == "" {
		path = config.DefaultPath(e.getenv)
	}
	cfg, warnings, err := config.Load(path, e.getenv)
	if err != nil {
		return nil, path, e.missingConfig(path, err)
	}
	for _, w := range warnings {
		log.Warn(w)
	}
	return cfg, path, nil
}
