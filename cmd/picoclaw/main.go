// Command picoclaw runs a personal AI assistant and serves it in DingTalk.
//
// Usage:
//
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

// runProcess runs the command line of this process; SIGINT and SIGTERM
// cancel its context, which stops the gateway gracefully.
func runProcess() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
}
