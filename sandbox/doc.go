// Package sandbox confines the shell commands the model runs through the
// exec tool.
//
// On Linux every command runs in fresh user, PID and (unless the network
// is allowed) network namespaces, under a Landlock ruleset that grants the
// workspace read-write, the system directories read-only and nothing else:
// the gateway's config file, its data dir and the home directory stay out
// of reach. Its environment is scrubbed, it is its own process group, and
// when its shell ends or is killed the PID namespace takes every
// descendant with it.
//
// Landlock restricts the process that applies it, so the gateway re-runs
// its own binary with the hidden argument ChildArg; that child applies the
// ruleset and then becomes /bin/sh. Every binary (and test binary) that
// builds a Sandbox must call RunChildIfAsked first thing in main/TestMain.
package sandbox
