package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"picoclaw/config"
	"picoclaw/datadir"
	"picoclaw/workspace"
)

func (e *env) statusCommand() *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the configuration in use (never printing secrets)",
		Long: `Show the configuration in use, never printing secrets.

With --group CID, also the settings each bot applies in that group chat
(its groups.<CID> entry, groups."*" and the bot's own settings merged).
A running gateway applies them once it has reloaded the file: on a change
or SIGHUP; a file that does not load is refused with an error in its log,
and status reports the error here too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("group") && strings.TrimSpace(strings.TrimPrefix(group, "dingtalk:group:")) == "" {
				return errors.New("status: --group needs a group's conversation id (cid…), bare or as dingtalk:group:<id>")
			}
			log, err := e.logger()
			if err != nil {
				return err
			}
			cfg, path, err := e.loadConfig(log)
			if errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(e.stdout, "config:    %s (missing; run %s)\n", path, e.hint("onboard"))
				return exitError{code: 1}
			}
			if err != nil {
				return err
			}
			d := cfg.Agents.Defaults
			w := e.stdout
			fmt.Fprintf(w, "picoclaw %s\n", version)
			fmt.Fprintf(w, "config:    %s\n", path)
			fmt.Fprintf(w, "workspace: %s\n", d.Workspace)
			model := "(none)"
			if ms := cfg.Models(d.ModelName); len(ms) > 0 {
				model = fmt.Sprintf("%s → %s at %s (api key %s)", d.ModelName, ms[0].Model, ms[0].BaseURL(), setOrNot(len(ms[0].Keys()) > 0))
			}
			fmt.Fprintf(w, "model:     %s\n", model)
			if len(d.ModelFallbacks) > 0 {
				fmt.Fprintf(w, "fallbacks: %v\n", d.ModelFallbacks)
			}
			printBots(cmd.Context(), w, cfg, time.Now())
			fmt.Fprintf(w, "gateway:   http://%s (/health, /ready)\n", net.JoinHostPort(cfg.Gateway.Host, strconv.Itoa(cfg.Gateway.Port)))
			private := []string{path}
			if data, err := datadir.New(d.DataDir); err == nil {
				fmt.Fprintf(w, "data dir:  %s (sessions, journal, cron jobs, received media; no tool can reach it)\n", data.Root())
				fmt.Fprintf(w, "sessions:  %s\n", data.Sessions())
				private = append(private, data.Root())
				printOutboxStatus(w, data.Outbox(), time.Now())
			}
			fmt.Fprintf(w, "exec:      %s\n", planExec(cmd.Context(), cfg, private).reason)
			if cmd.Flags().Changed("group") {
				printGroupStatus(w, cfg, group)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "also show the effective settings of the group chat with conversation id `CID`")
	return cmd
}

func setOrNot(ok bool) string {
	if ok {
		return "set"
	}
	return "NOT set"
}

func allowDesc(dt config.DingTalkConfig) string {
	if len(dt.AllowFrom) == 0 {
		return "everyone"
	}
	return fmt.Sprintf("%d ids", len(dt.AllowFrom))
}

func (e *env) onboardCommand() *cobra.Command {
	var force, dingtalk bool
	cmd := &cobra.Command{
		Use:   "onboard",
		Short: "Create ~/.picoclaw/config.json and the workspace templates; --dingtalk sets up the DingTalk app",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := e.configPath
			if path == "" {
				path = config.DefaultPath(e.getenv)
			}
			if dingtalk {
				return e.onboardDingTalk(cmd.Context(), cmd.InOrStdin(), path)
			}
			if err := e.onboardFresh(path, force); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "\nNext: run %s for the DingTalk app's Client ID and Secret, put an LLM api key into %s, then run %s (or try %s first).\n",
				e.hint("onboard --dingtalk"), path, e.hint("gateway"), e.hint("agent -m hello"))
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing config (kept as .bak) and templates")
	cmd.Flags().BoolVar(&dingtalk, "dingtalk", false, "walk the DingTalk console steps, ask for the Client ID and Secret and write them into the config (created if missing; other keys kept)")
	return cmd
}

// onboardFresh writes the starter config and the workspace templates.
func (e *env) onboardFresh(path string, force bool) error {
	if err := workspace.WriteDefaultConfig(path, force); err != nil {
		return fmt.Errorf("onboard: %w", err)
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", path)
	log, err := e.logger()
	if err != nil {
		return err
	}
	cfg, _, _ := e.loadConfig(log)
	created, err := workspace.Init(workspaceOf(cfg, e.getenv), force)
	if err != nil {
		return fmt.Errorf("onboard: %w", err)
	}
	for _, c := range created {
		fmt.Fprintf(e.stdout, "created %s\n", c)
	}
	return nil
}

// workspaceOf is the configured workspace, or the default one while the
// fresh config does not validate yet (placeholders not filled in).
func workspaceOf(cfg *config.Config, getenv func(string) string) string {
	if cfg != nil && cfg.Agents.Defaults.Workspace != "" {
		return cfg.Agents.Defaults.Workspace
	}
	if h := getenv("PICOCLAW_HOME"); h != "" {
		return filepath.Join(h, "workspace")
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	return filepath.Join(home, ".picoclaw", "workspace")
}
