package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"picoclaw/config"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

// runDoctor runs `picoclaw doctor` on the harness's config and returns
// its exit code and output.
func runDoctor(t *testing.T, h *gatewayHarness, args ...string) (int, string) {
	t.Helper()
	var out strings.Builder
	e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	code := e.execute(context.Background(), append([]string{"doctor", "--config", h.cfgPath}, args...))
	return code, out.String()
}

// lineOf returns the output line that starts with status and contains
// what, failing the test when there is none.
func lineOf(t *testing.T, out, status, what string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, status) && strings.Contains(l, what) {
			return l
		}
	}
	t.Fatalf("no %q line about %q in:\n%s", status, what, out)
	return ""
}

// execOff keeps the sandbox probe out of the checks that are not about it:
// whether it works depends on the kernel the tests run on.
var execOff = map[string]any{"exec": map[string]any{"enabled": false}}

func TestDoctorAllOK(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{tools: execOff})
	code, out := runDoctor(t, h)
	if code != 0 {
		t.Fatalf("exit %d, want 0; output:\n%s", code, out)
	}
	for _, what := range []string{"config: ", "config mode: 0600", "dingtalk channels.dingtalk token", "dingtalk channels.dingtalk stream",
		"model gpt (model_list[0].api_keys[0], openai/gpt-4o-mini)", "workspace: ", "data dir: ", "exec: disabled"} {
		lineOf(t, out, "ok ", what)
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("a FAIL line in a good setup:\n%s", out)
	}
	lineOf(t, out, "hint", "robot capability or Stream mode is off")
	if !strings.Contains(out, "All checks passed") {
		t.Errorf("no summary:\n%s", out)
	}
	// The probe connected and let go; the model got one tiny request.
	if n := h.dt.ConnectionCount(); n != 1 {
		t.Errorf("stream connections = %d, want 1", n)
	}
	if n := len(h.llm.Requests()); n != 1 {
		t.Errorf("model requests = %d, want 1", n)
	}
	assertNoSecrets(t, out)
}

func TestDoctorBadSecretNamesTheFix(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{tools: execOff})
	h.dt.SetCredentials(dingtalktest.DefaultClientID, "another-secret")
	code, out := runDoctor(t, h)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	l := lineOf(t, out, "FAIL", "dingtalk channels.dingtalk token")
	for _, want := range []string{"invalidClientIdOrSecret", "wrong Client ID/Secret: copy them again from https://open-dev.dingtalk.com",
		"channels.dingtalk.client_id / channels.dingtalk.client_secret"} {
		if !strings.Contains(l, want) {
			t.Errorf("token line lacks %q: %s", want, l)
		}
	}
	lineOf(t, out, "ok ", "model gpt") // the other checks still run
	assertNoSecrets(t, out)
}

func TestDoctorBadModelKeyNamesTheFix(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{tools: execOff})
	h.llm.SetHandler(func(req providertest.RecordedRequest) providertest.Reply {
		return providertest.OpenAIUnauthorized()
	})
	code, out := runDoctor(t, h)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	l := lineOf(t, out, "FAIL", "model gpt")
	if want := `wrong key for model "gpt" at model_list[0].api_keys[0]`; !strings.Contains(l, want) {
		t.Errorf("model line lacks %q: %s", want, l)
	}
	lineOf(t, out, "ok ", "dingtalk channels.dingtalk stream")
	assertNoSecrets(t, out)
}

func TestDoctorUnwritableDataDir(t *testing.T) {
	t.Run("read-only folder", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes into a mode 0500 folder; the case below covers the report")
		}
		h := newGatewayHarness(t, harnessOptions{tools: execOff})
		if err := os.Chmod(h.dataDir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(h.dataDir, 0o700) })
		code, out := runDoctor(t, h)
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		l := lineOf(t, out, "FAIL", "data dir: ")
		if !strings.Contains(l, h.dataDir+" is not writable") || !strings.Contains(l, "chmod 700 "+h.dataDir) {
			t.Errorf("data dir line: %s", l)
		}
	})
	t.Run("a file in the way", func(t *testing.T) {
		h := newGatewayHarness(t, harnessOptions{tools: execOff})
		if err := os.RemoveAll(h.dataDir); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(h.dataDir, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out := runDoctor(t, h)
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		l := lineOf(t, out, "FAIL", "data dir: ")
		if !strings.Contains(l, "is not a folder") || !strings.Contains(l, "agents.defaults.data_dir") {
			t.Errorf("data dir line: %s", l)
		}
	})
}

func TestDoctorConfigProblems(t *testing.T) {
	t.Run("missing", func(t *testing.T) {
		var out strings.Builder
		e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }, argv0: "picoclaw"}
		missing := filepath.Join(t.TempDir(), "config.json")
		if code := e.execute(context.Background(), []string{"doctor", "--config", missing}); code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		l := lineOf(t, out.String(), "FAIL", "config: ")
		if !strings.Contains(l, "not found") || !strings.Contains(l, "`picoclaw onboard`") {
			t.Errorf("config line: %s", l)
		}
	})
	t.Run("readable by others", func(t *testing.T) {
		h := newGatewayHarness(t, harnessOptions{tools: execOff})
		if err := os.Chmod(h.cfgPath, 0o644); err != nil {
			t.Fatal(err)
		}
		code, out := runDoctor(t, h)
		if code != 1 {
			t.Errorf("exit %d, want 1", code)
		}
		if l := lineOf(t, out, "FAIL", "config mode"); !strings.Contains(l, "fix: chmod 600 "+h.cfgPath) {
			t.Errorf("mode line: %s", l)
		}
	})
}

func TestDoctorListenCountsRobotMessages(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{tools: execOff})
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := h.dt.WaitConnections(ctx, 1); err != nil {
			t.Errorf("doctor did not connect: %v", err)
			return
		}
		if _, err := h.dt.PushBotMessage(dingtalktest.BotMessage{Text: "hi"}); err != nil {
			t.Errorf("push: %v", err)
		}
	}()
	code, out := runDoctor(t, h, "--listen", "5s")
	<-done
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	lineOf(t, out, "ok ", "1 robot message(s) arrived")
}

// assertNoSecrets fails when the harness's secrets show in out.
func assertNoSecrets(t *testing.T, out string) {
	t.Helper()
	for _, s := range []string{dingtalktest.DefaultClientSecret, "sk-test-key"} {
		if strings.Contains(out, s) {
			t.Errorf("output shows the secret %q:\n%s", s, out)
		}
	}
}

func TestDoctorExec(t *testing.T) {
	t.Run("unconfined is a warning", func(t *testing.T) {
		h := newGatewayHarness(t, harnessOptions{tools: map[string]any{"exec": map[string]any{"sandbox": "off"}}})
		code, out := runDoctor(t, h)
		if code != 0 {
			t.Errorf("exit %d, want 0:\n%s", code, out)
		}
		lineOf(t, out, "warn", "exec: UNCONFINED")
	})
	t.Run("sandboxed", func(t *testing.T) {
		h := newGatewayHarness(t, harnessOptions{})
		plan := planExec(context.Background(), mustLoad(t, h.cfgPath), nil)
		_, out := runDoctor(t, h)
		if plan.box == nil {
			// This kernel lacks Landlock or user namespaces: doctor must
			// say so and name the fix.
			if l := lineOf(t, out, "FAIL", "exec: "); !strings.Contains(l, "tools.exec.enabled to false") {
				t.Errorf("exec line: %s", l)
			}
			return
		}
		lineOf(t, out, "ok ", "exec: sandboxed (Landlock ABI")
	})
}

func mustLoad(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, _, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
