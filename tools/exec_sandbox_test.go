//go:build linux

package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	execbox "picoclaw/sandbox"
	"picoclaw/sandbox/sandboxtest"
)

const testSecret = "dt-client-secret-8c1e"

// gatewayFiles lays out ~/.picoclaw in miniature: config.json holding a
// secret, data/ holding a session, and the workspace.
func gatewayFiles(t *testing.T) (ws, cfg, data string) {
	t.Helper()
	base := filepath.Join(t.TempDir(), ".picoclaw")
	ws, cfg, data = filepath.Join(base, "workspace"), filepath.Join(base, "config.json"), filepath.Join(base, "data")
	writeFile(t, cfg, `{"channels":{"dingtalk":{"client_secret":"`+testSecret+`"}}}`)
	writeFile(t, filepath.Join(data, "sessions", "dingtalk~direct~A.jsonl"), `{"content":"`+testSecret+`"}`)
	writeFile(t, filepath.Join(ws, "AGENTS.md"), "# agent")
	return ws, cfg, data
}

func sandboxedExec(t *testing.T, opts ExecOptions, network bool) *ExecTool {
	t.Helper()
	ws, cfg, data := gatewayFiles(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	box, err := execbox.New(execbox.Policy{Workspace: ws, Hidden: []string{cfg, data}, Network: network}, exe)
	if err != nil {
		t.Fatal(err)
	}
	sandboxtest.Require(t, box)
	opts.Workspace, opts.Sandbox = ws, box
	return newExec(t, opts)
}

func TestSecurityExecSecrets(t *testing.T) {
	t.Setenv("PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET", testSecret)
	t.Setenv("OPENAI_API_KEY", testSecret)
	tool := sandboxedExec(t, ExecOptions{}, false)
	for _, command := range []string{
		"grep client_secret ../config.json",
		"grep -r client_secret ..",
		"cat $HOME/../config.json",
		"cat ../data/sessions/*",
		"env",
		"cat /proc/self/environ",
		"cat /proc/1/environ",
		fmt.Sprintf("cat /proc/%d/environ", os.Getpid()),
		fmt.Sprintf("cat /proc/%d/cmdline", os.Getpid()),
		"ls -la /root /home",
	} {
		t.Run(command, func(t *testing.T) {
			out, err := runExec(t, tool, command, "")
			if strings.Contains(out, testSecret) || (err != nil && strings.Contains(err.Error(), testSecret)) {
				t.Fatalf("%q leaked the secret: %q, %v", command, out, err)
			}
		})
	}
	// The workspace itself stays usable.
	if out, err := runExec(t, tool, "echo kept > note && cat note AGENTS.md", ""); err != nil || out != "kept\n# agent" {
		t.Fatalf("workspace use = %q, %v", out, err)
	}
}

func TestSecurityExecOrphansReaped(t *testing.T) {
	tool := sandboxedExec(t, ExecOptions{Timeout: 3 * time.Second}, false)
	tag := "picoclaw-exec-orphan-" + strconv.Itoa(os.Getpid())
	// The form: setsid detaches the sleep from the shell's group.
	_, err := runExec(t, tool, `setsid bash -c 'exec -a `+tag+` sleep 300' >/dev/null 2>&1 & sleep 300`, "")
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		left := taggedProcesses(tag)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes outlived the timeout: %v", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func taggedProcesses(tag string) []string {
	var out []string
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), tag) {
			out = append(out, f)
		}
	}
	return out
}

// TestSecurityExecConcurrencyBounded fires 300 exec calls at once, as one
// model reply can; at most DefaultExecConcurrency commands run together.
func TestSecurityExecConcurrencyBounded(t *testing.T) {
	tool := sandboxedExec(t, ExecOptions{}, false)
	if err := os.Mkdir(filepath.Join(tool.sb.root, "running"), 0o700); err != nil {
		t.Fatal(err)
	}
	calls := 300
	if testing.Short() {
		calls = 40
	}
	var wg sync.WaitGroup
	results := make([]string, calls)
	errs := make([]error, calls)
	for i := range calls {
		wg.Go(func() {
			raw, _ := json.Marshal(map[string]string{"command": fmt.Sprintf("touch running/%d; ls running | wc -l; rm running/%d", i, i)})
			results[i], errs[i] = tool.Call(context.Background(), raw)
		})
	}
	wg.Wait()
	most := 0
	for i := range calls {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		n, err := strconv.Atoi(strings.TrimSpace(results[i]))
		if err != nil {
			t.Fatalf("call %d output %q", i, results[i])
		}
		most = max(most, n)
	}
	if most > DefaultExecConcurrency {
		t.Fatalf("%d commands ran at once; want at most %d", most, DefaultExecConcurrency)
	}
	t.Logf("at most %d of %d commands ran at once", most, calls)
}

func TestExecSandboxRefusesWorkingDirOutside(t *testing.T) {
	tool := sandboxedExec(t, ExecOptions{}, false)
	if _, err := runExec(t, tool, "ls", ".."); err == nil || !strings.Contains(err.Error(), "outside the workspace") {
		t.Fatalf("err = %v, want outside the workspace", err)
	}
}

type execChatKey struct{}

// TestSecurityExecChatMedia: a command may read the received media of the
// chat it runs for, which lie in the otherwise hidden data dir, but not
// another chat's, and may not change them.
func TestSecurityExecChatMedia(t *testing.T) {
	ws, cfg, data := gatewayFiles(t)
	media := func(chat string) string { return filepath.Join(data, "media", chat) }
	writeFile(t, filepath.Join(media("alice"), "photo.txt"), "alice's photo")
	writeFile(t, filepath.Join(media("bob"), "photo.txt"), testSecret)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	box, err := execbox.New(execbox.Policy{Workspace: ws, Hidden: []string{cfg, data}}, exe)
	if err != nil {
		t.Fatal(err)
	}
	sandboxtest.Require(t, box)
	tool := newExec(t, ExecOptions{Workspace: ws, Sandbox: box, ReadFor: func(ctx context.Context) []string {
		chat, _ := ctx.Value(execChatKey{}).(string)
		return []string{media(chat)}
	}})
	ctx := context.WithValue(context.Background(), execChatKey{}, "alice")
	run := func(command string) (string, error) {
		raw, _ := json.Marshal(map[string]string{"command": command})
		return tool.Call(ctx, raw)
	}
	if out, err := run("cat " + filepath.Join(media("alice"), "photo.txt")); err != nil || out != "alice's photo" {
		t.Fatalf("own media = %q, %v", out, err)
	}
	for _, command := range []string{
		"cat " + filepath.Join(media("bob"), "photo.txt"),
		"ls " + filepath.Join(data, "media"),
		"cat " + filepath.Join(data, "sessions", "*"),
		"echo x > " + filepath.Join(media("alice"), "photo.txt"),
		"rm " + filepath.Join(media("alice"), "photo.txt"),
	} {
		out, _ := run(command)
		if !strings.Contains(out, "exit status") || strings.Contains(out, testSecret) {
			t.Errorf("%q = %q; want refused", command, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(media("alice"), "photo.txt")); err != nil || string(b) != "alice's photo" {
		t.Fatalf("alice's photo after the attempts = %q, %v", b, err)
	}
}
