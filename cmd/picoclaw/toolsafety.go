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
	// untried: box has not run its trial command yet (see probed); offer
	// holds only if it passes.
	untried bool
}

// planExec decides how exec runs: disabled by config, sandboxed, withheld
// because the kernel cannot sandbox, or unconfined because the config
// says tools.exec.sandbox "off". private lists the paths commands must
// never read (config file, data dir).
func planExec(ctx context.Context, cfg *config.Config, private []string) execSetup {
	return prepareExec(cfg, cfg.Agents.Defaults.Workspace, private).probed(ctx)
}

// prepareExec is planExec without the sandbox's trial command, which
// starts this binary again in new namespaces (10–30 ms): the gateway runs
// it while it connects (see probed).
func prepareExec(cfg *config.Config, ws string, private []string) execSetup {
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
	box, err := sandbox.New(sandbox.Policy{Workspace: ws, Hidden: private, Network: tc.Network}, exe)
	if err != nil {
		return withheld(err)
	}
	namespaces := "user, PID and network namespaces: no network"
	if tc.Network {
		namespaces = "user and PID namespaces, host network"
	}
	return execSetup{box: box, offer: true, untried: true,
		reason: fmt.Sprintf("sandboxed (Landlock ABI %d, %s)", sandbox.LandlockABI(), namespaces)}
}

// probed runs the sandbox's trial command if s still needs it: exec is
// offered only if the sandbox works on this machine.
func (s execSetup) probed(ctx context.Context) execSetup {
	if !s.untried {
		return s
	}
	if err := s.box.Probe(ctx); err != nil {
		return withheld(err)
	}
	s.untried = false
	return s
}

// withheld is the plan when the sandbox cannot be set up.
func withheld(err error) execSetup {
	return execSetup{reason: fmt.Sprintf("not offered: %v (set tools.exec.sandbox to \"off\" to run commands unconfined, or tools.exec.enabled to false)", err)}
}

// logExec logs what a security reviewer must see at every start.
func logExec(plan execSetup, tc config.ExecConfig, log *slog.Logger) {
	switch {
	case !tc.Enabled:
	case !plan.offer:
		log.Warn("exec tool "+plan.reason, "component", "exec")
	case plan.box == nil:
		log.Warn("SECURITY: exec tool is "+plan.reason, "component", "exec")
	default:
		log.Info("exec tool "+plan.reason, "component", "exec")
		if tc.Network {
			log.Warn("SECURITY: tools.exec.network is true: sandboxed commands can reach the network, including this host's and the cloud's internal addresses", "component", "exec")
		}
	}
}

// execTool builds the exec tool per plan; nil when exec is not offered.
// When the sandbox has yet to run its trial command, trial is not nil:
// it runs it, logs the outcome and says whether the tool may be offered.
// Otherwise the plan is logged here.
func execTool(cfg *config.Config, ws string, private []string, restrict bool, readFor func(context.Context) []string, log *slog.Logger) (ex *tools.ExecTool, trial func(context.Context) bool, err error) {
	plan := prepareExec(cfg, ws, private)
	tc := cfg.Tools.Exec
	if !plan.offer {
		logExec(plan, tc, log)
		return nil, nil, nil
	}
	ex, err = tools.NewExecTool(tools.ExecOptions{
		Workspace: ws, Restrict: restrict,
		Timeout:      time.Duration(tc.TimeoutSeconds) * time.Second,
		DenyPatterns: tc.CustomDenyPatterns, AllowPatterns: tc.CustomAllowPatterns,
		Sandbox: plan.box, ReadFor: readFor,
	})
	if err != nil {
		return nil, nil, err
	}
	if !plan.untried {
		logExec(plan, tc, log)
		return ex, nil, nil
	}
	return ex, func(ctx context.Context) bool {
		plan := plan.probed(ctx)
		if ctx.Err() != nil {
			return false // stopped before the trial ended: nothing to report
		}
		logExec(plan, tc, log)
		return plan.offer
	}, nil
}

// chatMediaList is chatMedia as the exec tool's ReadFor: a command may
// read the received media of the chat it runs for, no other chat's.
func (p paths) chatMediaList(ctx context.Context) []string {
	if d, ok := p.chatMedia(ctx); ok {
		return []string{d}
	}
	return nil
}
