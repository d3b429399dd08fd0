package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A workspace laid out the old way has its gateway data moved to the data
// dir at the first start, with one log line; the agent's own files stay.
func TestGatewayMigratesOldWorkspaceLayout(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	old := map[string]string{
		"sessions/dingtalk~direct~u1.jsonl": "",
		"cron/jobs.json":                    `{"version":1,"jobs":[]}`,
		"media/2026-01-02/m1-a.pdf":         "%PDF",
		"AGENTS.md":                         "my agent",
	}
	for rel, content := range old {
		p := filepath.Join(h.workspace, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.start()
	h.stop()

	logs := h.logs.String()
	if n := strings.Count(logs, "moved the gateway's data out of the workspace"); n != 1 {
		t.Errorf("%d migration log lines, want 1:\n%s", n, logs)
	}
	for rel, where := range map[string]string{
		"sessions/dingtalk~direct~u1.jsonl": h.dataDir,
		"cron/jobs.json":                    h.dataDir,
		"legacy-media/2026-01-02/m1-a.pdf":  h.dataDir,
		"AGENTS.md":                         h.workspace,
	} {
		st, err := os.Stat(filepath.Join(where, filepath.FromSlash(rel)))
		if err != nil {
			t.Errorf("%s not in %s: %v", rel, where, err)
			continue
		}
		if where == h.dataDir && st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", rel, st.Mode().Perm())
		}
	}
	for _, gone := range []string{"sessions", "cron", "media", "inbox", "state"} {
		if _, err := os.Stat(filepath.Join(h.workspace, gone)); err == nil {
			t.Errorf("the workspace still has %s/", gone)
		}
	}

	// A second start moves nothing and says nothing about it.
	h.start()
	h.stop()
	if n := strings.Count(h.logs.String(), "moved the gateway's data"); n != 1 {
		t.Errorf("the second start logged a migration too")
	}
}
