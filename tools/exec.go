package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"picoclaw"
	execbox "picoclaw/sandbox"
)

// Defaults of ExecOptions.
const (
	DefaultExecTimeout   = 60 * time.Second
	DefaultExecMaxOutput = 16 << 10
	// DefaultExecConcurrency is how many commands run at once, across all
	// chats: a reply with 300 exec calls must not start 300 shells.
	DefaultExecConcurrency = 4
)

// ExecOptions configures the exec tool.
type ExecOptions struct {
	// Workspace is the default working directory.
	Workspace string
	// Restrict keeps working_dir inside Workspace.
	Restrict bool
	// Timeout bounds one command (default 60s); on expiry its whole process
	// group is killed.
	Timeout time.Duration
	// MaxOutput bounds the combined stdout and stderr returned (default
	// 16 KiB); the head and the tail are kept.
	MaxOutput int
	// DenyPatterns are regular expressions refused in addition to
	// DefaultDenyRules.
	DenyPatterns []string
	// AllowPatterns are regular expressions; a command matching one is
	// exempt from every deny rule.
	AllowPatterns []string
	// Sandbox confines every command (Landlock, namespaces, no network);
	// nil runs commands unconfined, which only tools.exec.sandbox "off"
	// asks for.
	Sandbox *execbox.Sandbox
	// MaxConcurrent bounds the commands running at once (default
	// DefaultExecConcurrency); the others wait for a slot.
	MaxConcurrent int
	// ReadFor returns further paths a sandboxed command may read for the
	// turn in ctx: its chat's received media, which live in the otherwise
	// hidden data dir. Nil: none.
	ReadFor func(ctx context.Context) []string
}

// ExecTool runs shell commands for the model.
type ExecTool struct {
	sb        sandbox
	timeout   time.Duration
	maxOutput int
	// policy compiles the deny and allow rules at the first command
	// (about 130 KB of heap the gateway need not hold from start-up).
	policy  func() (*policy, error)
	box     *execbox.Sandbox
	slots   chan struct{}
	readFor func(ctx context.Context) []string
}

// NewExecTool returns the exec tool. It fails when a pattern is not a
// valid regular expression.
func NewExecTool(opts ExecOptions) (*ExecTool, error) {
	if err := checkPatterns(opts.DenyPatterns, opts.AllowPatterns); err != nil {
		return nil, err
	}
	deny, allow := slices.Clone(opts.DenyPatterns), slices.Clone(opts.AllowPatterns)
	t := &ExecTool{
		sb:        newSandbox(opts.Workspace, opts.Restrict),
		timeout:   opts.Timeout,
		maxOutput: opts.MaxOutput,
		policy:    sync.OnceValues(func() (*policy, error) { return newPolicy(deny, allow) }),
		box:       opts.Sandbox,
		readFor:   opts.ReadFor,
	}
	if t.box != nil {
		// The sandbox grants the workspace only; a command started
		// elsewhere could not even read its own directory.
		t.sb = newSandbox(opts.Workspace, true)
	}
	n := opts.MaxConcurrent
	if n <= 0 {
		n = DefaultExecConcurrency
	}
	t.slots = make(chan struct{}, n)
	if t.timeout <= 0 {
		t.timeout = DefaultExecTimeout
	}
	if t.maxOutput <= 0 {
		t.maxOutput = DefaultExecMaxOutput
	}
	return t, nil
}

// Def describes exec.
func (t *ExecTool) Def() picoclaw.ToolDef {
	desc := fmt.Sprintf("Run a shell command (sh -c) in the workspace and return its output and exit status. Commands are killed after %s. Destructive commands (rm -rf /, mkfs, sudo, shutdown, …) are refused.", t.timeout)
	if t.box != nil {
		net := "no network access"
		if t.box.Policy().Network {
			net = "network access"
		}
		desc += " Commands run in a sandbox: the workspace is writable, system programs are read-only, nothing else on the machine is visible, " + net + "; $TMPDIR is a private scratch folder."
	}
	return def("exec", desc,
		`{"type":"object","properties":{"command":{"type":"string","description":"Shell command to run"},"working_dir":{"type":"string","description":"Directory to run in; default is the workspace"}},"required":["command"]}`)
}

type execArgs struct {
	Command    string `json:"command"`
	WorkingDir string `json:"working_dir"`
}

// Call runs the command. A non-zero exit status is part of the result, not
// an error; a denied command, a timeout or a cancelled ctx is an error.
func (t *ExecTool) Call(ctx context.Context, raw json.RawMessage) (string, error) {
	var a execArgs
	if err := decodeArgs("exec", raw, &a, `{"command": "ls -la", "working_dir": "notes"}`); err != nil {
		return "", err
	}
	if strings.TrimSpace(a.Command) == "" {
		return "", errors.New("exec: command is required")
	}
	p, err := t.policy()
	if err != nil {
		return "", err
	}
	if err := p.check(a.Command); err != nil {
		return "", fmt.Errorf("exec: %w", err)
	}
	dir := t.sb.root
	if a.WorkingDir != "" {
		d, err := t.sb.resolve(a.WorkingDir)
		if err != nil {
			return "", fmt.Errorf("exec: working_dir: %w", err)
		}
		dir = d
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("exec: working directory %q does not exist or is not a directory", dir)
	}

	select {
	case t.slots <- struct{}{}:
		defer func() { <-t.slots }()
	case <-ctx.Done():
		return "", fmt.Errorf("exec: cancelled while waiting for a free slot: %w", ctx.Err())
	}

	runCtx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	out := newHeadTail(t.maxOutput)
	cmd, cleanup, err := t.command(runCtx, dir, a.Command)
	if err != nil {
		return "", fmt.Errorf("exec: %w", err)
	}
	defer cleanup()
	cmd.Stdout, cmd.Stderr = out, out

	err = cmd.Run()
	text := out.String()
	var setup *exec.ExitError
	if t.box != nil && errors.As(err, &setup) && setup.ExitCode() == execbox.SetupFailedCode && strings.HasPrefix(text, "sandbox:") {
		return "", fmt.Errorf("exec: the command was not run: %s", strings.TrimSpace(text))
	}
	if ctxErr := runCtx.Err(); ctxErr != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("exec: cancelled: %w", ctx.Err())
		}
		return "", fmt.Errorf("exec: command timed out after %s and was killed; output so far:\n%s", t.timeout, orNone(text))
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return orNone(text), nil
	case errors.As(err, &exitErr):
		return fmt.Sprintf("%s\n[%s]", orNone(text), exitErr.Error()), nil
	default:
		return "", fmt.Errorf("exec: run command: %w", err)
	}
}

// command prepares script to run in dir: in the sandbox, or (sandbox
// off) as a plain sh -c in its own process group with PICOCLAW_*
// dropped from the environment.
func (t *ExecTool) command(ctx context.Context, dir, script string) (*exec.Cmd, func(), error) {
	if t.box != nil {
		var extra []string
		if t.readFor != nil {
			extra = t.readFor(ctx)
		}
		return t.box.Command(ctx, dir, script, extra...)
	}
	cmd := exec.CommandContext(ctx, "sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = commandEnv(os.Environ())
	// Own process group, so that killing it also ends what the shell
	// started (pipelines, background jobs).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A process that left the group may hold the pipes open; stop waiting
	// for it shortly after the kill.
	cmd.WaitDelay = 2 * time.Second
	return cmd, func() {}, nil
}

// commandEnv drops PICOCLAW_* variables, which carry this process's own
// secrets (client secret, API keys), from a command's environment.
func commandEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(strings.ToUpper(kv), "PICOCLAW_") {
			out = append(out, kv)
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(no output)"
	}
	return s
}

// headTail keeps the first and last max/2 bytes written to it, so that a
// command's start (what it did) and end (how it failed) both survive.
type headTail struct {
	mu    sync.Mutex
	half  int
	head  []byte
	tail  []byte
	total int
}

func newHeadTail(max int) *headTail { return &headTail{half: max / 2} }

func (w *headTail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.total += len(p)
	rest := p
	if n := min(w.half-len(w.head), len(rest)); n > 0 {
		w.head = append(w.head, rest[:n]...)
		rest = rest[n:]
	}
	if len(rest) > 0 {
		w.tail = append(w.tail, rest...)
		// Compact only now and then, not on every write.
		if len(w.tail) > 2*w.half {
			w.tail = append(w.tail[:0:0], w.tail[len(w.tail)-w.half:]...)
		}
	}
	return len(p), nil
}

// String returns what was kept, with a marker saying how much was dropped.
func (w *headTail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	tail := w.tail
	if len(tail) > w.half {
		tail = tail[len(tail)-w.half:]
	}
	omitted := w.total - len(w.head) - len(tail)
	if omitted <= 0 {
		return string(w.head) + string(tail)
	}
	return strings.ToValidUTF8(string(w.head), "") +
		fmt.Sprintf("\n… %d bytes omitted …\n", omitted) +
		strings.ToValidUTF8(string(tail), "")
}
