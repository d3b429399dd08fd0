package tools

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func newExec(t *testing.T, opts ExecOptions) *ExecTool {
	t.Helper()
	if opts.Workspace == "" {
		opts.Workspace = t.TempDir()
	}
	tool, err := NewExecTool(opts)
	if err != nil {
		t.Fatal(err)
	}
	return tool
}

func runExec(t *testing.T, tool *ExecTool, command, dir string) (string, error) {
	t.Helper()
	raw, _ := json.Marshal(map[string]string{"command": command, "working_dir": dir})
	return tool.Call(context.Background(), raw)
}

func TestExecRuns(t *testing.T) {
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "sub/hello.txt"), "hi")
	tool := newExec(t, ExecOptions{Workspace: ws, Restrict: true})
	tests := []struct {
		name, command, dir string
		want               string
	}{
		{"stdout and stderr", "echo out; echo err >&2", "", "out\nerr\n"},
		{"runs in workspace", "cat sub/hello.txt", "", "hi"},
		{"working_dir", "cat hello.txt", "sub", "hi"},
		{"exit status is a result", "echo partial; exit 2", "", "partial\n\n[exit status 2]"},
		{"no output", "true", "", "(no output)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runExec(t, tool, tc.command, tc.dir)
			if err != nil || got != tc.want {
				t.Fatalf("exec %q = %q, %v; want %q", tc.command, got, err, tc.want)
			}
		})
	}
}

func TestExecHidesOwnSecrets(t *testing.T) {
	t.Setenv("PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET", "s3cr3t")
	t.Setenv("TOOLS_TEST_VISIBLE", "visible")
	got, err := runExec(t, newExec(t, ExecOptions{}), "env", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "s3cr3t") || !strings.Contains(got, "visible") {
		t.Fatalf("env output leaks PICOCLAW_* or drops others:\n%s", got)
	}
}

func TestExecRefusals(t *testing.T) {
	tool := newExec(t, ExecOptions{Restrict: true})
	tests := []struct {
		name, command, dir string
		errHas             string
	}{
		{"empty command", "  ", "", "command is required"},
		{"working_dir escape", "ls", "..", "outside the workspace"},
		{"working_dir absolute", "ls", "/", "outside the workspace"},
		{"working_dir missing", "ls", "nope", "does not exist"},
		{"deny list", "rm -rf /", "", "command denied by safety policy: rm-recursive-root"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runExec(t, tool, tc.command, tc.dir)
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.errHas)
			}
		})
	}
	if _, err := runExec(t, newExec(t, ExecOptions{}), "pwd", "/"); err != nil {
		t.Fatalf("unrestricted working_dir /: %v", err)
	}
}

func TestExecBadPattern(t *testing.T) {
	for _, opts := range []ExecOptions{{DenyPatterns: []string{"("}}, {AllowPatterns: []string{"["}}} {
		if _, err := NewExecTool(opts); err == nil {
			t.Fatalf("NewExecTool(%+v) accepted an invalid pattern", opts)
		}
	}
}

func TestExecOutputCap(t *testing.T) {
	tool := newExec(t, ExecOptions{MaxOutput: 100})
	// 50 lines of "line NN" and a final marker; head and tail must survive.
	got, err := runExec(t, tool, `for i in $(seq 10 59); do echo "line $i"; done; echo END`, "")
	if err != nil {
		t.Fatal(err)
	}
	total := 50*len("line NN\n") + len("END\n")
	wantMarker := "… " + strconv.Itoa(total-100) + " bytes omitted …"
	if !strings.HasPrefix(got, "line 10\n") || !strings.HasSuffix(got, "END\n") || !strings.Contains(got, wantMarker) {
		t.Fatalf("capped output = %q, want head, tail and %q", got, wantMarker)
	}
	if len(got) > 100+len(wantMarker)+2 {
		t.Fatalf("capped output is %d bytes", len(got))
	}
}

func TestHeadTailManyWrites(t *testing.T) {
	w := newHeadTail(10)
	for i := range 1000 {
		w.Write([]byte{byte('a' + i%26)})
	}
	got := w.String()
	// Bytes 0-4 are abcde; the last five of 1000 are i=995..999.
	want := "abcde\n… 990 bytes omitted …\n" + "hijkl"
	if got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// TestExecTimeoutKillsGroup starts a background grandchild and checks that
// the timeout kills it too, not just the shell.
func TestExecTimeoutKillsGroup(t *testing.T) {
	ws := t.TempDir()
	tool := newExec(t, ExecOptions{Workspace: ws, Timeout: time.Second})
	_, err := runExec(t, tool, `sleep 60 & echo $! > child.pid; wait`, "")
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(ws, "child.pid"))))
	if err != nil {
		t.Fatal(err)
	}
	waitDead(t, pid)
}

func TestExecContextCancel(t *testing.T) {
	ws := t.TempDir()
	tool := newExec(t, ExecOptions{Workspace: ws})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		raw, _ := json.Marshal(map[string]string{"command": `sleep 60 & echo $! > child.pid; wait`})
		_, err := tool.Call(ctx, raw)
		done <- err
	}()
	pidFile := filepath.Join(ws, "child.pid")
	waitFor(t, func() bool { b, err := os.ReadFile(pidFile); return err == nil && len(b) > 0 && b[len(b)-1] == '\n' })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	waitDead(t, pid)
}

// waitDead waits until pid is gone or a zombie (killed, not yet reaped by
// an init that may never reap it).
func waitDead(t *testing.T, pid int) {
	t.Helper()
	waitFor(t, func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return true
		}
		// Fields: pid (comm) state …
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		return i > 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
	})
}

// waitFor polls cond: a process's death has no event to wait on. The
// deadline only bounds a broken run; it measures nothing.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
