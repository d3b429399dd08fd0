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
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
