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
	"os"

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
// notifyShutdown).
func runProcess() int {
	stop, now, release := notifyShutdown(os.Stderr, os.Exit, shutdownGrace)
	defer release()
	return run(stop, now, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
}
