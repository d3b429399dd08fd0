// Command picoclaw runs a personal AI assistant and serves it in DingTalk.
//
// Usage:
//
//	picoclaw onboard          # write the config and workspace
//	picoclaw agent            # talk to the assistant in the terminal
//	picoclaw gateway          # connect to DingTalk and answer chats
//	picoclaw version
//
// The configuration is ~/.picoclaw/config.json, the file named by
// PICOCLAW_CONFIG, or --config FILE.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"picoclaw/sandbox"
)

func main() {
	// A sandboxed exec command starts as this binary; it must confine
	// itself before anything else runs.
	sandbox.RunChildIfAsked()
	os.Exit(runProcess())
}

// runProcess runs the command line of this process. The first SIGINT or
// SIGTERM stops the gateway gracefully, a second one at once (see
// notifyShutdown). In the agent REPL, Ctrl-C belongs to the REPL instead
// (stop the answer; twice at the prompt to leave); SIGTERM still ends it.
func runProcess() int {
	args := os.Args[1:]
	if e := (&env{getenv: os.Getenv}); e.wantsREPL(args) {
		intr := make(chan os.Signal, 1)
		signal.Notify(intr, os.Interrupt)
		defer signal.Stop(intr)
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
		defer stop()
		e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, interrupts: intr}
		return e.execute(ctx, args)
	}
	stop, now, release := notifyShutdown(os.Stderr, os.Exit, shutdownGrace)
	defer release()
	return run(stop, now, args, os.Stdout, os.Stderr, os.Getenv)
}
