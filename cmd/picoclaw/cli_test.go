package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"picoclaw"
	"picoclaw/provider/providertest"

	"picoclaw/internal/testutil"
)

// runCLI runs picoclaw in-process and returns its exit code and output.
func runCLI(t *testing.T, getenv func(string) string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return runEnv(t, &env{getenv: getenv}, stdin, args...)
}

// runEnv runs picoclaw in-process in e, whose output it captures.
func runEnv(t *testing.T, e *env, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut testutil.SyncBuffer
	e.stdout, e.stderr = &out, &errOut
	root := e.rootCommand()
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	code := 0
	if err := root.ExecuteContext(context.Background()); err != nil {
		code = 1
		errOut.Write([]byte(err.Error()))
	}
	return code, out.String(), errOut.String()
}

func TestAgentOneMessage(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.Enqueue(providertest.Reply{Content: "Hello! 我是你的助手。"})
	code, out, errOut := runCLI(t, nil, "", "agent", "--config", h.cfgPath, "-m", "hello")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if strings.TrimSpace(out) != "Hello! 我是你的助手。" {
		t.Errorf("stdout = %q, want the model's answer", out)
	}
	reqs := h.llm.Requests()
	if len(reqs) != 1 || reqs[0].LastUser() != "hello" {
		t.Fatalf("model requests %+v, want one with the message", reqs)
	}
	// The CLI keeps its own session, cli:default, in the data dir.
	if _, err := os.Stat(filepath.Join(h.dataDir, "sessions")); err != nil {
		t.Error(err)
	}
	code, _, _ = runCLI(t, nil, "", "agent", "--config", h.cfgPath, "-m", "again")
	if code != 0 {
		t.Fatal("second run failed")
	}
	last := h.llm.Requests()[1]
	var sawFirst bool
	for _, m := range last.Messages {
		sawFirst = sawFirst || m.Content == "hello"
	}
	if !sawFirst {
		t.Error("the second CLI run did not see the first exchange in its history")
	}
}

func TestAgentREPL(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	code, out, errOut := runCLI(t, nil, "first\n\nsecond\nexit\n", "agent", "--config", h.cfgPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "first") || !strings.Contains(out, "second") {
		t.Errorf("REPL output %q lacks the echoed answers", out)
	}
	if n := len(h.llm.Requests()); n != 2 {
		t.Errorf("%d model calls, want 2 (blank line skipped, exit stops)", n)
	}
}

func TestAgentModelErrorApologises(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	for range 3 {
		h.llm.Enqueue(providertest.OpenAIServerError(503))
	}
	code, out, _ := runCLI(t, nil, "", "agent", "--config", h.cfgPath, "-m", "hello")
	if code == 0 {
		t.Error("exit 0 although the model failed")
	}
	if !strings.Contains(out, "抱歉") {
		t.Errorf("stdout %q has no apology", out)
	}
}

func TestStatusHidesSecrets(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	code, out, errOut := runCLI(t, nil, "", "status", "--config", h.cfgPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{h.cfgPath, h.workspace, "data dir:  " + h.dataDir, "gpt", "client_secret set", "allow_from everyone"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"test-client-secret", "sk-test-key"} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("status printed a secret")
		}
	}
}

func TestOnboard(t *testing.T) {
	home := t.TempDir()
	getenv := func(k string) string { return map[string]string{"HOME": home}[k] }
	code, out, errOut := runCLI(t, getenv, "", "onboard")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	cfgPath := filepath.Join(home, ".picoclaw", "config.json")
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatalf("onboard wrote no config: %v\n%s", err, out)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("config is not JSON: %v", err)
	}
	for _, f := range []string{"AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md", "memory/MEMORY.md"} {
		if _, err := os.Stat(filepath.Join(home, ".picoclaw", "workspace", f)); err != nil {
			t.Errorf("template %s missing: %v", f, err)
		}
	}
	if err := os.WriteFile(cfgPath, []byte(`{"mine":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, getenv, "", "onboard")
	if code == 0 || !strings.Contains(errOut, "--force") {
		t.Errorf("second onboard: exit %d, %q; want a refusal mentioning --force", code, errOut)
	}
	if data, _ := os.ReadFile(cfgPath); string(data) != `{"mine":true}` {
		t.Error("onboard overwrote an existing config without --force")
	}
	// The fresh config fails clearly until credentials are filled in...
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, getenv, "", "gateway")
	if code == 0 || !strings.Contains(errOut, "channel_list.dingtalk.settings.client_id: required") {
		t.Errorf("gateway on the fresh config: exit %d, %q; want the missing client_id named", code, errOut)
	}
	// ...but the agent already answers once a model is set: a new user can
	// try it before creating the DingTalk app.
	llm := providertest.NewOpenAI()
	t.Cleanup(llm.Close)
	edited := strings.Replace(string(data), `"https://api.openai.com/v1"`, `"`+llm.URL()+`"`, 1)
	edited = strings.Replace(edited, `"api_key": ""`, `"api_key": "sk-new-user"`, 1)
	if edited == string(data) {
		t.Fatalf("default config has no api_base/api_key to fill in:\n%s", data)
	}
	if err := os.WriteFile(cfgPath, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, getenv, "", "agent", "-m", "hello")
	if code != 0 || strings.TrimSpace(out) != "hello" {
		t.Errorf("agent -m on the onboarded config: exit %d, out %q, err %q", code, out, errOut)
	}
}

// The fake LLM asks for write_file, then read_file, then answers: the
// DingTalk user gets the final answer and the file exists.
func TestGatewayToolRoundTrip(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.Enqueue(
		providertest.Reply{ToolCalls: []picoclaw.ToolCall{{ID: "call_1", Name: "write_file",
			Arguments: json.RawMessage(`{"path":"notes/todo.txt","content":"buy milk"}`)}}},
		providertest.Reply{ToolCalls: []picoclaw.ToolCall{{ID: "call_2", Name: "read_file",
			Arguments: json.RawMessage(`{"path":"notes/todo.txt"}`)}}},
		providertest.Reply{Content: "Saved and checked: buy milk"},
	)
	h.start()
	h.push(dingtalktestMessage("remember to buy milk"))
	if got := h.waitReplies(1)[0]; got.Text != "Saved and checked: buy milk" {
		t.Errorf("reply = %q", got.Text)
	}
	data, err := os.ReadFile(filepath.Join(h.workspace, "notes", "todo.txt"))
	if err != nil || string(data) != "buy milk" {
		t.Errorf("file = %q, %v", data, err)
	}
	reqs := h.llm.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d model calls, want 3", len(reqs))
	}
	var result string
	for _, m := range reqs[2].Messages {
		if m.Role == "tool" && m.ToolCallID == "call_2" {
			result = m.Content
		}
	}
	if !strings.Contains(result, "buy milk") {
		t.Errorf("read_file result given to the model = %q", result)
	}
}
