package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// invokedAs is the command line prefix the user typed to start this
// process, for hints ("run `… gateway`"): `go run` builds into a
// go-build temporary directory, where the binary's name means nothing to
// the user, so hints name `go run ./cmd/picoclaw` instead.
func invokedAs(argv0 string) string {
	if argv0 == "" {
		return "picoclaw"
	}
	slash := filepath.ToSlash(argv0)
	if strings.Contains(slash, "/go-build") && strings.Contains(slash, "/exe/") {
		return "go run ./cmd/picoclaw"
	}
	return argv0
}

// prog is how hints name this program; e.argv0 is injected by tests,
// os.Args[0] otherwise.
func (e *env) prog() string {
	if e.argv0 != "" {
		return invokedAs(e.argv0)
	}
	return invokedAs(os.Args[0])
}

// hint formats a command for the user to run next, e.g. hint("onboard").
func (e *env) hint(args string) string {
	return fmt.Sprintf("`%s %s`", e.prog(), args)
}

// missingConfig rewrites config.Load's missing-file error so that its
// hint names the command the user actually ran.
func (e *env) missingConfig(path string, err error) error {
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return fmt.Errorf("config: %s: file is missing (run %s to create it): %w", path, e.hint("onboard"), fs.ErrNotExist)
}
