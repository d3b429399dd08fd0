package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"picoclaw/dingtalk/dingtalktest"

	"picoclaw/internal/testutil"
)

// A bad config stops the gateway before it connects, naming the problem.
func TestGatewayRefusesBadConfig(t *testing.T) {
	dt := dingtalktest.NewServer()
	t.Cleanup(dt.Close)
	base := `"model_list":[{"model_name":"gpt","model":"openai/gpt-4o-mini","api_base":"http://127.0.0.1:1/v1","api_keys":["sk-x"]}],
	 "agents":{"defaults":{"model_name":"gpt","workspace":"WS"}}`
	tests := []struct {
		name, config string
		want         []string
	}{
		{"invalid JSON", "{\n  \"channels\": {,\n}", []string{"config.json:2:", "invalid JSON"}},
		{"missing client_id", `{` + base + `,"channels":{"dingtalk":{"enabled":true,"client_secret":"s3cr3t-value","api_base":"DT"}}}`,
			[]string{"channels.dingtalk.client_id", "required"}},
		{"wrong type", `{` + base + `,"channels":{"dingtalk":{"enabled":"yes","client_id":"id","client_secret":"s3cr3t-value","api_base":"DT"}}}`,
			[]string{"channels.dingtalk.enabled", "boolean"}},
		{"unknown model", `{"model_list":[{"model_name":"gpt","model":"openai/x"}],"agents":{"defaults":{"model_name":"nope","workspace":"WS"}},
			"channels":{"dingtalk":{"enabled":true,"client_id":"id","client_secret":"s3cr3t-value","api_base":"DT"}}}`,
			[]string{"agents.defaults.model_name", "nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := strings.NewReplacer("WS", filepath.Join(dir, "ws"), "DT", dt.URL()).Replace(tt.config)
			path := filepath.Join(dir, "config.json")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			var out testutil.SyncBuffer
			e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
			code := e.execute(context.Background(), []string{"gateway", "--config", path})
			if code == 0 {
				t.Fatalf("exit code 0 for a bad config; output:\n%s", out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output does not mention %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String(), "s3cr3t-value") {
				t.Errorf("the client secret leaked into the output")
			}
			if n := dt.OpenCount(); n != 0 {
				t.Errorf("%d connection attempts with a bad config, want 0", n)
			}
		})
	}
}

// Environment variables override the file, so secrets can stay out of it.
func TestGatewayCredentialsFromEnvironment(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	data, err := os.ReadFile(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	stripped := strings.NewReplacer(`"test-client-id"`, `""`, `"test-client-secret"`, `""`).Replace(string(data))
	if err := os.WriteFile(h.cfgPath, []byte(stripped), 0o600); err != nil {
		t.Fatal(err)
	}
	h.getenv = func(k string) string {
		return map[string]string{
			"PICOCLAW_CHANNELS_DINGTALK_CLIENT_ID":     "test-client-id",
			"PICOCLAW_CHANNELS_DINGTALK_CLIENT_SECRET": "test-client-secret",
		}[k]
	}
	h.start()
	h.push(dingtalktest.BotMessage{Text: "hi"})
	if got := h.waitReplies(1)[0]; got.Text != "hi" {
		t.Errorf("reply = %q, want the fake model's echo", got.Text)
	}
}
