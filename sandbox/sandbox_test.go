//go:build linux

package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"picoclaw/sandbox"
	"picoclaw/sandbox/sandboxtest"
)

// layout is a gateway's files in miniature: a config file and a data dir
// beside the workspace, as in ~/.picoclaw.
type layout struct {
	base, workspace, config, data string
}

const secret = "client-secret-5f3a9c"

func newLayout(t *testing.T) layout {
	t.Helper()
	base := t.TempDir()
	l := layout{base: base, workspace: filepath.Join(base, "workspace"), config: filepath.Join(base, "config.json"), data: filepath.Join(base, "data")}
	mustWrite(t, l.config, `{"client_secret":"`+secret+`"}`)
	mustWrite(t, filepath.Join(l.data, "sessions", "dingtalk~direct~A.jsonl"), secret)
	mustWrite(t, filepath.Join(l.workspace, "notes.txt"), "hello")
	return l
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// newSandbox builds a sandbox and skips the test, saying why, only where
// the kernel lacks Landlock or user namespaces.
func newSandbox(t *testing.T, p sandbox.Policy) *sandbox.Sandbox {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s, err := sandbox.New(p, exe)
	if err != nil {
		t.Fatal(err)
	}
	sandboxtest.Require(t, s)
	return s
}

// run runs script in the sandbox and returns its combined output and error.
func run(t *testing.T, s *sandbox.Sandbox, script string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd, cleanup, err := s.Command(ctx, s.Policy().Workspace, script)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == sandbox.SetupFailedCode {
		t.Fatalf("sandbox setup failed: %s", out.String())
	}
	return out.String(), err
}

func TestSecuritySandboxFiles(t *testing.T) {
	l := newLayout(t)
	s := newSandbox(t, sandbox.Policy{Workspace: l.workspace, Hidden: []string{l.config, l.data}})
	allowed := []struct{ name, script, want string }{
		{"read workspace", "cat notes.txt", "hello"},
		{"write workspace", "mkdir -p a/b && echo made > a/b/f && mv a/b/f g && cat g", "made"},
		{"run system tools", "ls /usr/bin | grep -c . | sed 's/[0-9][0-9]*/many/'", "many"},
		{"read /etc", "test -r /etc/passwd && echo readable", "readable"},
		{"temp dir", `echo t > "$TMPDIR/x" && cat "$TMPDIR/x"`, "t"},
		{"/dev/null", "echo gone > /dev/null && echo ok", "ok"},
		{"home is the workspace", `cd && cat notes.txt`, "hello"},
	}
	for _, tc := range allowed {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, s, tc.script)
			if err != nil || strings.TrimSpace(out) != tc.want {
				t.Fatalf("%q = %q, %v; want %q", tc.script, out, err, tc.want)
			}
		})
	}
	home, _ := os.UserHomeDir()
	refused := []struct{ name, script string }{
		{"config beside the workspace", "cat ../config.json"},
		{"config by absolute path", "cat " + l.config},
		{"grep the config", "grep -r client_secret " + l.base},
		{"data dir", "cat " + filepath.Join(l.data, "sessions", "dingtalk~direct~A.jsonl")},
		{"list the parent", "ls .."},
		{"home directory", "ls -a " + home},
		{"own environ", "cat /proc/self/environ"},
		{"parent's environ", fmt.Sprintf("cat /proc/%d/environ", os.Getpid())},
		{"init's environ", "cat /proc/1/environ"},
		{"write /etc", "echo x > /etc/picoclaw-sandbox-test"},
		{"write /tmp", "echo x > /tmp/picoclaw-sandbox-test"},
		{"symlink out", "ln -s " + l.config + " link && cat link"},
		{"hard link out", "ln " + l.config + " hard && cat hard"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(t, s, tc.script)
			if err == nil {
				t.Errorf("%q succeeded: %q", tc.script, out)
			}
			if strings.Contains(out, secret) {
				t.Errorf("%q leaked the secret: %q", tc.script, out)
			}
		})
	}
	if _, err := os.Stat("/etc/picoclaw-sandbox-test"); err == nil {
		t.Error("a sandboxed command wrote /etc/picoclaw-sandbox-test")
	}
}

func TestSecuritySandboxEnvironment(t *testing.T) {
	t.Setenv("PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET", secret)
	t.Setenv("OPENAI_API_KEY", secret)
	l := newLayout(t)
	s := newSandbox(t, sandbox.Policy{Workspace: l.workspace})
	out, err := run(t, s, "env; id -u")
	if err != nil {
		t.Fatalf("env: %v\n%s", err, out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "PICOCLAW") {
		t.Fatalf("environment leaks:\n%s", out)
	}
	for _, want := range []string{"PATH=", "HOME=" + s.Policy().Workspace, "LANG=", "TERM="} {
		if !strings.Contains(out, want) {
			t.Errorf("environment lacks %s:\n%s", want, out)
		}
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); lines[len(lines)-1] == "0" {
		t.Errorf("command runs as uid 0 inside its namespace:\n%s", out)
	}
}

// TestSecuritySandboxHiddenInsideGranted covers a data dir that lies inside
// the workspace (an old layout) and a config file under a read-only
// system directory (/etc/picoclaw/config.json).
func TestSecuritySandboxHiddenInsideGranted(t *testing.T) {
	l := newLayout(t)
	inWS := filepath.Join(l.workspace, "sessions")
	mustWrite(t, filepath.Join(inWS, "a.jsonl"), secret)
	etc := t.TempDir()
	mustWrite(t, filepath.Join(etc, "picoclaw", "config.json"), secret)
	mustWrite(t, filepath.Join(etc, "hostname"), "box")
	ro := append([]string{etc}, sandbox.DefaultReadOnly()...)
	s := newSandbox(t, sandbox.Policy{Workspace: l.workspace, Hidden: []string{inWS, filepath.Join(etc, "picoclaw", "config.json")}, ReadOnly: ro})
	for _, script := range []string{"cat sessions/a.jsonl", "ls sessions", "cat " + filepath.Join(etc, "picoclaw", "config.json")} {
		out, err := run(t, s, script)
		if err == nil || strings.Contains(out, secret) {
			t.Errorf("%q = %q, %v; want refused", script, out, err)
		}
	}
	if out, err := run(t, s, "cat notes.txt "+filepath.Join(etc, "hostname")); err != nil || out != "hellobox" {
		t.Errorf("siblings of hidden paths = %q, %v; want hellobox", out, err)
	}
}

func TestSecuritySandboxNetwork(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "reached") })}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	url := "http://" + ln.Addr().String() + "/"
	l := newLayout(t)

	closed := newSandbox(t, sandbox.Policy{Workspace: l.workspace})
	for _, script := range []string{
		"curl -sS -m 10 " + url,
		"curl -sS -m 10 http://169.254.169.254/latest/meta-data/",
		"wget -q -t 1 -T 10 -O - " + url,
		`bash -c 'exec 3<>/dev/tcp/` + strings.Replace(ln.Addr().String(), ":", "/", 1) + `&& echo reached'`,
	} {
		out, err := run(t, closed, script)
		if err == nil || strings.Contains(out, "reached") {
			t.Errorf("without network, %q = %q, %v; want a failure", script, out, err)
		}
	}
	open := newSandbox(t, sandbox.Policy{Workspace: l.workspace, Network: true})
	if out, err := run(t, open, "curl -sS -m 10 "+url); err != nil || out != "reached" {
		t.Errorf("with network: true, curl = %q, %v; want reached", out, err)
	}
}

// TestSecuritySandboxRmRoot runs rm -rf / in the sandbox, once the
// sandbox is shown to refuse writes outside the workspace, and checks
// that a file outside survives.
func TestSecuritySandboxRmRoot(t *testing.T) {
	l := newLayout(t)
	outside := t.TempDir()
	sentinel := filepath.Join(outside, "sentinel")
	mustWrite(t, sentinel, "still here")
	s := newSandbox(t, sandbox.Policy{Workspace: l.workspace, Hidden: []string{l.config, l.data}})
	// Proof first: the sandbox is active.
	if out, err := run(t, s, "rm -f "+sentinel+"; echo x > "+filepath.Join(outside, "new")); err == nil {
		t.Fatalf("the sandbox let a command write outside the workspace (%q); not running rm -rf /", out)
	}
	if _, err := os.Stat(sentinel); err != nil {
		t.Fatalf("the sandbox let a command remove %s; not running rm -rf /", sentinel)
	}
	_, _ = run(t, s, "rm -rf --no-preserve-root / 2>/dev/null")
	if got, err := os.ReadFile(sentinel); err != nil || string(got) != "still here" {
		t.Fatalf("sentinel after rm -rf / = %q, %v", got, err)
	}
	if _, err := os.Stat(l.config); err != nil {
		t.Fatalf("config after rm -rf /: %v", err)
	}
}

// TestSecuritySandboxReapsOrphans shows that nothing a command started
// outlives it, whether it ends on its own or is killed.
func TestSecuritySandboxReapsOrphans(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	l := newLayout(t)
	s := newSandbox(t, sandbox.Policy{Workspace: l.workspace})
	t.Run("after exit", func(t *testing.T) {
		tag := fmt.Sprintf("picoclaw-orphan-%d-a", os.Getpid())
		if out, err := run(t, s, `setsid bash -c 'exec -a `+tag+` sleep 300' >/dev/null 2>&1 & echo started`); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		waitGone(t, tag)
	})
	t.Run("after timeout", func(t *testing.T) {
		tag := fmt.Sprintf("picoclaw-orphan-%d-b", os.Getpid())
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cmd, cleanup, err := s.Command(ctx, l.workspace, `setsid bash -c 'exec -a `+tag+` sleep 300' >/dev/null 2>&1 & echo started; sleep 300`)
		if err != nil {
			t.Fatal(err)
		}
		defer cleanup()
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 8)
		if _, err := stdout.Read(buf); err != nil {
			t.Fatalf("read: %v", err)
		}
		waitPresent(t, tag)
		cancel() // what the exec tool's timeout does
		_ = cmd.Wait()
		waitGone(t, tag)
	})
}

// processes returns the command lines of every process on the host that
// holds tag.
func processes(tag string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte(tag)) {
			out = append(out, f+": "+string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
		}
	}
	return out
}

func waitPresent(t *testing.T, tag string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(processes(tag)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("process %s never started", tag)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitGone(t *testing.T, tag string) {
	t.Helper()
	// The PID namespace's init waits for its last process before it is
	// reaped, so this holds at once; the loop only guards a slow kernel.
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := processes(tag)
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("orphans outlived their command: %v", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewRefusesExposingLayouts(t *testing.T) {
	l := newLayout(t)
	exe, _ := os.Executable()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Skip("no home directory")
	}
	for _, tc := range []struct {
		name string
		p    sandbox.Policy
		want string
	}{
		{"relative workspace", sandbox.Policy{Workspace: "ws"}, "not an absolute path"},
		{"workspace inside the data dir", sandbox.Policy{Workspace: l.workspace, Hidden: []string{l.base}}, "lies inside"},
		{"workspace is home", sandbox.Policy{Workspace: home}, "home directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sandbox.New(tc.p, exe); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
