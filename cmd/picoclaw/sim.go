package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"picoclaw/config"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/sim"
)

// simOptions are the flags of `sim`.
type simOptions struct {
	addr, model, workspace, dataDir, cardTemplate string
	reasoning                                     bool
}

func (e *env) simCommand() *cobra.Command {
	var o simOptions
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Try the assistant in a DingTalk look-alike in the browser, no DingTalk app needed",
		Long: `Start a fake DingTalk and the gateway in one process, joined over the real
Stream and OpenAPI protocols, and serve a DingTalk-like chat page (default
http://127.0.0.1:18791): private chats of simulated users, group chats with an
@ picker (a group message that does not @mention the bot gets no answer, as in
DingTalk), pictures and files, replies rendered as DingTalk renders markdown,
split answers, AI cards (with --card-template), the reasoning chat, and buttons
that expire webhooks, drop the Stream connection or fail the OpenAPI, with a
side log of what happened and how the gateway recovered.

The model is the config's (--config, default ~/.picoclaw/config.json; its
DingTalk settings are ignored), or --model echo: a built-in echo that is not an
AI and needs no key. The echo understands /long N (an answer of about N×10,000
characters, split into several messages), /think TEXT (reasoning first) and
/md (every markdown element). The workspace and data dir are temporary and
removed at exit unless --workspace or --data-dir name others.`,
		Example: `  picoclaw sim --model echo
  picoclaw sim                          # your model from ~/.picoclaw/config.json
  picoclaw sim --model echo --card-template demo.schema --addr 127.0.0.1:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("log-level") {
				e.logLevel = "warn" // the page's side log tells the rest
			}
			return e.sim(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:18791", "serve the page on `HOST:PORT`")
	f.StringVar(&o.model, "model", "", "`echo`, or a model_name of the config's model_list (default: agents.defaults.model_name)")
	f.StringVar(&o.workspace, "workspace", "", "the agent's workspace `DIR` (default: a temporary one)")
	f.StringVar(&o.dataDir, "data-dir", "", "the gateway's data `DIR` (default: a temporary one)")
	f.StringVar(&o.cardTemplate, "card-template", "", "stream answers into AI cards of template `ID` (default: the config's card_template_id)")
	f.BoolVar(&o.reasoning, "reasoning", true, "send the model's reasoning to a Reasoning chat (reasoning_channel_id)")
	return cmd
}

func (e *env) sim(ctx context.Context, o simOptions) error {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fmt.Errorf("sim: listen on %s (--addr): %w", o.addr, err)
	}
	defer ln.Close()
	fake := dingtalktest.NewServer()
	defer fake.Close()
	cfg, label, cleanup, err := e.simConfig(o, fake.URL())
	if err != nil {
		return err
	}
	defer cleanup()
	dt := &cfg.Channels.DingTalk
	if dt.CardTemplateID != "" {
		fake.AddCardTemplate(dt.CardTemplateID)
	}
	s, err := sim.New(sim.Config{Fake: fake, Model: label, Echo: o.model == "echo",
		ReasoningChat: dt.ReasoningChannelID, CardTemplate: dt.CardTemplateID})
	if err != nil {
		return err
	}
	// The gateway's warnings and errors go to the side log too.
	e.stderr = io.MultiWriter(e.stderr, s.LogWriter())
	log, err := e.logger()
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { defer close(watched); s.Watch(wctx) }()
	defer func() {
		s.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		stopWatch()
		<-watched
	}()

	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		fmt.Fprintf(e.stderr, "warning: the sim has no login; on %s anyone who can reach it can talk to your model and see the chats\n", ln.Addr())
	}
	fmt.Fprintf(e.stdout, "PicoClaw sim: open http://%s in a browser (Ctrl-C stops)\n", ln.Addr())
	fmt.Fprintf(e.stdout, "model: %s\n", label)
	fmt.Fprintf(e.stdout, "workspace: %s\ndata dir: %s\n", cfg.Agents.Defaults.Workspace, cfg.Agents.Defaults.DataDir)
	return e.runGateway(ctx, cfg, "sim config", log)
}

// simConfig is the config the sim's gateway runs: the user's model (or
// the echo one) with DingTalk pointed at the fake. cleanup removes what
// it made.
func (e *env) simConfig(o simOptions, fakeURL string) (cfg *config.Config, label string, cleanup func(), err error) {
	cleanup = func() {}
	if o.model == "echo" {
		if cfg, _, err = config.Parse([]byte(`{}`), e.getenv); err != nil {
			return nil, "", cleanup, fmt.Errorf("sim: %w", err)
		}
		echo, err := sim.NewEchoServer()
		if err != nil {
			return nil, "", cleanup, fmt.Errorf("sim: %w", err)
		}
		cleanup = func() { _ = echo.Close() }
		cfg.ModelList = []config.ModelConfig{{ModelName: "echo", Model: "openai/echo", APIBase: echo.URL(), APIKey: "sim-echo-needs-no-key"}}
		cfg.Agents.Defaults.ModelName, cfg.Agents.Defaults.ModelFallbacks = "echo", nil
		label = sim.EchoModel
	} else {
		var path string
		log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
		if cfg, path, err = e.loadConfig(log); err != nil {
			return nil, "", cleanup, fmt.Errorf("sim: %w (or try %s: a model that echoes, no key needed)", err, e.hint("sim --model echo"))
		}
		if o.model != "" {
			if len(cfg.Models(o.model)) == 0 {
				return nil, "", cleanup, fmt.Errorf("sim: --model: expected echo or a model_name of %s's model_list, got %q", path, o.model)
			}
			cfg.Agents.Defaults.ModelName, cfg.Agents.Defaults.ModelFallbacks = o.model, nil
		}
		if err := cfg.CheckModelKeys(path); err != nil {
			return nil, "", cleanup, fmt.Errorf("sim: %w (or try %s)", err, e.hint("sim --model echo"))
		}
		ms := cfg.Models(cfg.Agents.Defaults.ModelName)
		if len(ms) == 0 {
			return nil, "", cleanup, fmt.Errorf("sim: %s: agents.defaults.model_name %q: expected a model_name of model_list (or try %s)",
				path, cfg.Agents.Defaults.ModelName, e.hint("sim --model echo"))
		}
		label = fmt.Sprintf("model %s (%s)", ms[0].ModelName, ms[0].Model)
	}
	dirs, err := simDirs(o)
	if err != nil {
		cleanup()
		return nil, "", func() {}, err
	}
	closeModel := cleanup
	cleanup = func() { closeModel(); dirs.remove() }
	d := &cfg.Agents.Defaults
	d.Workspace, d.DataDir = dirs.workspace, dirs.data
	pointAtFake(cfg, fakeURL, o)
	return cfg, label, cleanup, nil
}

// pointAtFake makes the config's one DingTalk bot the fake's app, open to
// every simulated user and group, with the health port out of the way of
// a gateway that may run on this machine.
func pointAtFake(cfg *config.Config, fakeURL string, o simOptions) {
	old := cfg.Channels.DingTalk
	mentionOnly := true
	dt := config.DingTalkConfig{
		Enabled: true, ClientID: dingtalktest.DefaultClientID, ClientSecret: dingtalktest.DefaultClientSecret,
		APIBase: fakeURL, GroupTrigger: config.GroupTrigger{MentionOnly: &mentionOnly},
		ReplyAtSender: old.ReplyAtSender, ThinkingReaction: old.ThinkingReaction,
		CardTemplateID: old.CardTemplateID, CardUpdateMs: old.CardUpdateMs,
	}
	if o.cardTemplate != "" {
		dt.CardTemplateID = o.cardTemplate
	}
	if o.reasoning {
		dt.ReasoningChannelID = sim.ReasoningChatID
	}
	cfg.Channels.DingTalk = dt
	cfg.DingTalkBots = []config.DingTalkBot{{Name: "dingtalk", Section: "channels.dingtalk", DingTalkConfig: dt}}
	cfg.Gateway.Host, cfg.Gateway.Port = "127.0.0.1", 0
}

// simPaths are the sim's workspace and data dir; tmp is removed at exit.
type simPaths struct{ workspace, data, tmp string }

func (p simPaths) remove() {
	if p.tmp != "" {
		_ = os.RemoveAll(p.tmp)
	}
}

// simDirs makes a temporary workspace and data dir for those the flags
// do not name.
func simDirs(o simOptions) (simPaths, error) {
	p := simPaths{workspace: o.workspace, data: o.dataDir}
	if p.workspace != "" && p.data != "" {
		return absPaths(p)
	}
	tmp, err := os.MkdirTemp("", "picoclaw-sim-")
	if err != nil {
		return p, fmt.Errorf("sim: make a temporary directory: %w", err)
	}
	p.tmp = tmp
	if p.workspace == "" {
		p.workspace = filepath.Join(tmp, "workspace")
	}
	if p.data == "" {
		p.data = filepath.Join(tmp, "data")
	}
	return absPaths(p)
}

func absPaths(p simPaths) (simPaths, error) {
	var errs []error
	for _, d := range []*string{&p.workspace, &p.data} {
		abs, err := filepath.Abs(*d)
		if err != nil {
			errs = append(errs, fmt.Errorf("sim: %s: %w", *d, err))
		}
		*d = abs
	}
	if within(p.data, p.workspace) || within(p.workspace, p.data) {
		errs = append(errs, fmt.Errorf("sim: --data-dir %s and --workspace %s: expected neither inside the other (no tool may reach the gateway's data)", p.data, p.workspace))
	}
	if err := errors.Join(errs...); err != nil {
		p.remove()
		return p, err
	}
	return p, nil
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
