package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ChildArg is the hidden first argument that makes the picoclaw binary act
// as the sandbox's child: argv is [exe, ChildArg, spec JSON, command].
const ChildArg = "__sandbox-exec"

// SetupFailedCode is the child's exit status when it could not confine
// itself; the command was not run. Its stderr says why.
const SetupFailedCode = 125

// DefaultReadOnly returns the system paths a command may read and execute.
func DefaultReadOnly() []string { return append([]string(nil), defaultReadOnly...) }

// defaultReadOnly are the system paths a command may read and execute.
// /proc, /sys, /run, /var, /home, /root and /tmp are not among them: /proc
// would show the gateway's own environment and command line.
var defaultReadOnly = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"}

// defaultDevices may be read and written (they hold nothing).
var defaultDevices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}

// Policy says what a sandboxed command may reach.
type Policy struct {
	// Workspace is readable and writable; commands run in it and HOME
	// points at it.
	Workspace string
	// Hidden are paths that must stay unreadable even where they lie
	// inside a granted directory: the config file, the data dir. The home
	// directory is never granted.
	Hidden []string
	// Network keeps the host's network; false gives the command a network
	// namespace of its own with no interface up.
	Network bool
	// ReadOnly replaces the default list of system paths granted read and
	// execute (for tests).
	ReadOnly []string
}

// Sandbox runs shell commands confined by a Policy.
type Sandbox struct {
	exe    string
	policy Policy
}

// New returns a sandbox whose children are started from exe (normally
// os.Executable()). It fails when the workspace is not an absolute
// directory or would expose the home directory.
func New(p Policy, exe string) (*Sandbox, error) {
	if !filepath.IsAbs(p.Workspace) {
		return nil, fmt.Errorf("sandbox: workspace %q is not an absolute path", p.Workspace)
	}
	ws, err := filepath.EvalSymlinks(p.Workspace)
	if err != nil {
		return nil, fmt.Errorf("sandbox: workspace: %w", err)
	}
	p.Workspace = ws
	if home, err := os.UserHomeDir(); err == nil {
		if h, err := filepath.EvalSymlinks(home); err == nil && h != "/" && within(h, ws) {
			return nil, fmt.Errorf("sandbox: workspace %s is or contains the home directory %s, which commands must not read; choose a folder of its own", ws, h)
		}
	}
	var hidden []string
	for _, h := range p.Hidden {
		if h == "" {
			continue
		}
		abs, err := filepath.Abs(h)
		if err != nil {
			return nil, fmt.Errorf("sandbox: hidden path %q: %w", h, err)
		}
		hidden = append(hidden, abs)
		if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
			hidden = append(hidden, real)
		}
	}
	for _, h := range hidden {
		if within(ws, h) {
			return nil, fmt.Errorf("sandbox: workspace %s lies inside %s, which commands must not read; keep the workspace outside the data dir and the config file's place", ws, h)
		}
	}
	p.Hidden = hidden
	if p.ReadOnly == nil {
		p.ReadOnly = defaultReadOnly
	}
	return &Sandbox{exe: exe, policy: p}, nil
}

// Policy returns the policy in force, paths resolved.
func (s *Sandbox) Policy() Policy { return s.policy }

// spec is what the child needs, passed as JSON in argv.
type spec struct {
	RW      []string `json:"rw"`
	RO      []string `json:"ro"`
	Extra   []string `json:"extra"`
	Devices []string `json:"dev"`
	Hidden  []string `json:"hidden"`
	Network bool     `json:"net"`
}

// Command returns a command that runs script with sh -c in dir (inside the
// workspace) in the sandbox, and a cleanup to call after Wait. Its stdout
// and stderr are for the caller to set; on ctx's end the whole sandbox is
// killed. extraRead are further paths this one command may read even
// inside a hidden one (the received media of the chat it runs for).
func (s *Sandbox) Command(ctx context.Context, dir, script string, extraRead ...string) (*exec.Cmd, func(), error) {
	// A private temporary directory, since /tmp is not granted.
	tmp, err := os.MkdirTemp("", "picoclaw-exec-")
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox: temporary directory: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(tmp) }
	sp := spec{
		RW:      []string{s.policy.Workspace, tmp},
		RO:      s.policy.ReadOnly,
		Extra:   extraRead,
		Devices: defaultDevices,
		Hidden:  s.policy.Hidden,
		Network: s.policy.Network,
	}
	raw, err := json.Marshal(sp)
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("sandbox: encode spec: %w", err)
	}
	cmd := exec.CommandContext(ctx, s.exe, ChildArg, string(raw), script)
	cmd.Dir = dir
	cmd.Env = scrubbedEnv(s.policy.Workspace, tmp, os.Getenv("LANG"))
	if err := configure(cmd, s.policy.Network); err != nil {
		cleanup()
		return nil, nil, err
	}
	// The sandbox is its own process group and its shell is the init of
	// its PID namespace: killing the group's leader ends every process in
	// it, even those that called setsid.
	cmd.Cancel = func() error { return killGroup(cmd) }
	// Nothing outlives the namespace's init, so the pipes close once it
	// ends; the long delay only spares a loaded machine a spurious
	// "WaitDelay expired" while the output is still being copied.
	cmd.WaitDelay = 10 * time.Second
	return cmd, cleanup, nil
}

// Probe starts a sandboxed `true` and reports why it failed, if it did:
// the kernel lacks Landlock or user namespaces, or they are disabled.
func (s *Sandbox) Probe(ctx context.Context) error {
	if err := kernelSupport(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd, cleanup, err := s.Command(ctx, s.policy.Workspace, "exit 0")
	if err != nil {
		return err
	}
	defer cleanup()
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		// clone(2) refused the namespaces.
		return fmt.Errorf("sandbox: %w: user namespaces are unavailable (%w); on Ubuntu 24.04+ allow them with an AppArmor profile or kernel.apparmor_restrict_unprivileged_userns=0", ErrKernel, err)
	}
	if err := cmd.Wait(); err != nil {
		out := buf.Bytes()
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = "(no output)"
		}
		return fmt.Errorf("sandbox: trial command failed: %w: %s", err, msg)
	}
	return nil
}

// scrubbedEnv is the whole environment of a sandboxed command: nothing of
// the gateway's own (PICOCLAW_* secrets, tokens, proxies) gets through.
func scrubbedEnv(workspace, tmp, lang string) []string {
	if lang == "" {
		lang = "C.UTF-8"
	}
	return []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + workspace,
		"TMPDIR=" + tmp,
		"LANG=" + lang,
		"TERM=dumb",
	}
}

// within reports whether path is dir or lies under it.
func within(path, dir string) bool {
	if path == dir || dir == "/" {
		return true
	}
	return strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// ErrKernel is wrapped by Probe's error when the kernel or platform lacks
// what the sandbox needs (Landlock, user namespaces).
var ErrKernel = errors.New("the kernel lacks a sandbox feature")
