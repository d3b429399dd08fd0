package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"picoclaw/cron"
)

// cronCLI runs `picoclaw cron …` in-process against a minimal config whose
// workspace is a temporary folder.
type cronCLI struct {
	t         *testing.T
	cfgPath   string
	workspace string
	dataDir   string
}

// jobsPath is where the CLI keeps the jobs: in the data dir.
func (c *cronCLI) jobsPath() string { return filepath.Join(c.dataDir, "cron", "jobs.json") }

func newCronCLI(t *testing.T) *cronCLI {
	t.Helper()
	c := &cronCLI{t: t, workspace: t.TempDir(), dataDir: t.TempDir()}
	cfg := map[string]any{
		"version": 2,
		"agents":  map[string]any{"defaults": map[string]any{"workspace": c.workspace, "data_dir": c.dataDir}},
	}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.cfgPath = filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(c.cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// run returns the exit code, stdout and stderr of `picoclaw cron args…`.
func (c *cronCLI) run(args ...string) (int, string, string) {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := e.execute(context.Background(), append([]string{"cron", "--config", c.cfgPath}, args...))
	return code, stdout.String(), stderr.String()
}

// mustRun runs a command that must succeed and returns its stdout.
func (c *cronCLI) mustRun(args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(args...)
	if code != 0 {
		c.t.Fatalf("cron %v: exit %d: %s", args, code, errOut)
	}
	return out
}

func (c *cronCLI) jobs() []cron.Job {
	c.t.Helper()
	jobs, err := cron.NewStore(c.jobsPath()).Load()
	if err != nil {
		c.t.Fatal(err)
	}
	return jobs
}

var addedID = regexp.MustCompile(`Added job ([0-9a-f]+) `)

func TestCronCLIAddListRemove(t *testing.T) {
	c := newCronCLI(t)
	if out := c.mustRun("list"); !strings.Contains(out, "No scheduled jobs") {
		t.Errorf("list of nothing = %q", out)
	}
	out := c.mustRun("add", "--name", "standup", "--message", "Stand-up in 5", "--cron", "55 9 * * 1-5",
		"--tz", "Asia/Shanghai", "--chat", "dingtalk:group:cidXYZ==", "--deliver")
	m := addedID.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("add printed %q; want the new id", out)
	}
	c.mustRun("add", "--message", "Summarise my day", "--every", "24h", "--chat", "dingtalk:direct:0123")

	jobs := c.jobs()
	if len(jobs) != 2 {
		t.Fatalf("jobs.json holds %d jobs, want 2", len(jobs))
	}
	if j := jobs[0]; j.ID != m[1] || j.Name != "standup" || !j.Deliver || j.Schedule.Expr != "55 9 * * 1-5" ||
		j.Schedule.TZ != "Asia/Shanghai" || j.SessionKey() != "dingtalk:group:cidXYZ==" {
		t.Errorf("first job = %+v", j)
	}
	if j := jobs[1]; j.Deliver || j.Schedule.Kind != cron.KindEvery || j.Schedule.EverySeconds != 86400 {
		t.Errorf("second job = %+v; want every 86400s, not delivered verbatim", j)
	}

	list := c.mustRun("list")
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "NEXT RUN") {
		t.Fatalf("list = %q; want a header and two rows", list)
	}
	for _, want := range []string{m[1], "standup", "dingtalk:group:cidXYZ==", "dingtalk:direct:0123", "true", jobs[1].NextRun.Format("2006-01-02T15:04:05")} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}

	if out := c.mustRun("disable", m[1]); !strings.Contains(out, "Disabled") || c.jobs()[0].Enabled {
		t.Errorf("disable printed %q; job enabled = %v", out, c.jobs()[0].Enabled)
	}
	if out := c.mustRun("list"); !strings.Contains(out, "false") {
		t.Errorf("list after disable = %q; want the job shown disabled", out)
	}
	if out := c.mustRun("enable", m[1]); !strings.Contains(out, "Enabled") || !c.jobs()[0].Enabled {
		t.Errorf("enable printed %q; job enabled = %v", out, c.jobs()[0].Enabled)
	}
	c.mustRun("remove", m[1])
	if jobs := c.jobs(); len(jobs) != 1 || jobs[0].ID == m[1] {
		t.Errorf("after remove jobs = %+v", jobs)
	}
}

func TestCronCLIErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"no schedule", []string{"add", "--message", "x", "--chat", "dingtalk:direct:1"}, "exactly one of --every, --cron and --at"},
		{"two schedules", []string{"add", "--message", "x", "--chat", "dingtalk:direct:1", "--every", "1h", "--at", "2h"}, "exactly one"},
		{"bad every", []string{"add", "--message", "x", "--chat", "dingtalk:direct:1", "--every", "sometimes"}, "--every"},
		{"bad at", []string{"add", "--message", "x", "--chat", "dingtalk:direct:1", "--at", "2026-12-01 09:00"}, "RFC3339"},
		{"past at", []string{"add", "--message", "x", "--chat", "dingtalk:direct:1", "--at", "2001-01-01T00:00:00Z"}, "in the past"},
		{"bad cron", []string{"add", "--message", "x", "--chat", "dingtalk:direct:1", "--cron", "0 9 * *"}, "schedule.expr"},
		{"bad chat", []string{"add", "--message", "x", "--chat", "0123", "--every", "1h"}, "--chat"},
		{"other channel", []string{"add", "--message", "x", "--chat", "slack:direct:1", "--every", "1h"}, `"slack"`},
		{"no message", []string{"add", "--chat", "dingtalk:direct:1", "--every", "1h"}, "message"},
		{"remove unknown", []string{"remove", "nope"}, "no such job"},
		{"enable unknown", []string{"enable", "nope"}, "no such job"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCronCLI(t)
			code, _, errOut := c.run(tt.args...)
			if code == 0 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d, stderr %q; want a failure mentioning %q", code, errOut, tt.want)
			}
			if _, err := os.Stat(c.jobsPath()); err == nil && len(c.jobs()) != 0 {
				t.Errorf("a failed command left jobs behind")
			}
		})
	}
}

func TestCronCLICorruptFile(t *testing.T) {
	c := newCronCLI(t)
	path := c.jobsPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{oops"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := c.run("list")
	if code == 0 || !strings.Contains(errOut, path) {
		t.Errorf("list over a corrupt file: exit %d, stderr %q; want a failure naming %s", code, errOut, path)
	}
}
