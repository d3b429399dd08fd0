package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"picoclaw"
	"picoclaw/config"
	"picoclaw/sandbox"
	"picoclaw/tools"
)

// sendScope is where the message and send_file tools may send: the chat
// the turn answers, plus tools.message.allow_to.
func sendScope(cfg *config.Config) picoclaw.SendScope {
	return picoclaw.SendScope{Origin: originChat, AllowTo: cfg.Tools.Message.AllowTo}
}

// execSetup is how exec will run under this config on this machine.
type execSetup struct {
	box    *sandbox.Sandbox // nil: unconfined (sandbox "off") or not offered
	offer  bool             // false: exec is not given to the model
	reason string           // why not offered, or what the sandbox is
}

// planExec decides how exec runs: disabled by config, sandboxed, withheld
// because the kernel cannot sandbox, or unconfined because the config
// says tools.exec.sandbox "off". private lists the paths commands must
// never read (config file, data dir).
func planExec(ctx context.Context, cfg *config.Config, private []string) execSetup {
	tc := cfg.Tools.Exec
	switch {
	case !tc.Enabled:
		return execSetup{reason: "disabled (tools.exec.enabled is false)"}
	case tc.SandboxOff():
		return execSetup{offer: true, reason: "UNCONFINED: tools.exec.sandbox is \"off\", so commands run as the gateway's user and can read its config file, data and secrets"}
	}
	exe, err := os.Executable()
	if err != nil {
		return execSetup{reason: fmt.Sprintf("not offered: cannot find the picoclaw binary to start the sandbox: %v", err)}
	}
	box, err := sandbox.New(sandbox.Policy{Workspace: cfg.Agents.Defaults.Workspace, Hidden: private, Network: tc.Network}, exe)
	if err == nil {
		err = box.Probe(ctx)
	}
	if err != nil {
		return execSetup{reason: fmt.Sprintf("not offered: %v (set tools.exec.sandbox to \"off\" to run commands unconfined, or tools.exec.enabled to false)", err)}
	}
	namespaces := "user, PID and network namespaces: no network"
	if tc.Network {
		namespaces = "user and PID namespaces, host network"
	}
	return execSetup{box: box, offer: true, reason: fmt.Sprintf("sandboxed (Landlock ABI %d, %s)", sandbox.LandlockABI(), namespaces)}
}

// execTool builds the exec tool per plan, logging what a security
// reviewer must see at every start; nil when exec is not offered.
func execTool(ctx context.Context, cfg *config.Config, private []string, restrict bool, readFor func(context.Context) []string, log *slog.Logger) (*tools.ExecTool, error) {
	plan := planExec(ctx, cfg, private)
	tc := cfg.Tools.Exec
	switch {
	case !tc.Enabled:
		return nil, nil
	case !plan.offer:
		log.Warn("exec tool "+plan.reason, "component", "exec")
		return nil, nil
	case plan.box == nil:
		log.Warn("SECURITY: exec tool is "+plan.reason, "component", "exec")
	default:
		log.Info("exec tool "+plan.reason, "component", "exec")
		if tc.Network {
			log.Warn("SECURITY: tools.exec.network is true: sandboxed commands can reach the network, including this host's and the cloud's internal addresses", "component", "exec")
		}
	}
	return tools.NewExecTool(tools.ExecOptions{
		Workspace: cfg.Agents.Defaults.Workspace, Restrict: restrict,
		Timeout:      time.Duration(tc.TimeoutSeconds) * time.Second,
		DenyPatterns: tc.CustomDenyPatterns, AllowPatterns: tc.CustomAllowPatterns,
		Sandbox: plan.box, ReadFor: readFor,
	})
}

// chatMediaList is chatMedia as the exec tool's ReadFor: a command may
// read the received media of the chat it runs for, no other chat's.
func (p paths) chatMediaList(ctx context.Context) []string {
	if d, ok := p.chatMedia(ctx); ok {
		return []string{d}
	}
	return nil
}
