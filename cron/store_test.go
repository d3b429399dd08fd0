package cron

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStoreMissingFileHasNoJobs(t *testing.T) {
	jobs, err := NewStore(filepath.Join(t.TempDir(), "none", "jobs.json")).Load()
	if err != nil || len(jobs) != 0 {
		t.Fatalf("Load = %v, %v; want no jobs, no error", jobs, err)
	}
}

func TestStoreRejectsBadFiles(t *testing.T) {
	valid := `{"id":"a1","message":"m","channel":"dingtalk","chat":{"kind":"direct","id":"1"},"schedule":{"kind":"every","every_seconds":60},"enabled":true}`
	tests := []struct {
		name, content, want string
	}{
		{"not json", "{not json", "not a valid jobs file"},
		{"truncated", `{"version":1,"jobs":[` + valid, "not a valid jobs file"},
		{"bad chat kind", `{"version":1,"jobs":[` + strings.Replace(valid, `"direct"`, `"channel"`, 1) + `]}`, "chat.kind"},
		{"bad schedule", `{"version":1,"jobs":[` + strings.Replace(valid, `"every_seconds":60`, `"every_seconds":0`, 1) + `]}`, "schedule.every_seconds"},
		{"duplicate id", `{"version":1,"jobs":[` + valid + "," + valid + `]}`, "appears twice"},
		{"newer version", `{"version":9,"jobs":[]}`, "version 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "jobs.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := NewService(path, nil, nil)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewService = %v; want an error naming %s and containing %q", err, path, tt.want)
			}
			data, _ := os.ReadFile(path)
			if string(data) != tt.content {
				t.Errorf("the bad file was rewritten")
			}
		})
	}
}

func TestStoreFileFormat(t *testing.T) {
	atT0(t, func(t *testing.T) {
		s, path := newTestService(t)
		j := mustAdd(t, s, everyJob(120))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var file struct {
			Version int              `json:"version"`
			Jobs    []map[string]any `json:"jobs"`
		}
		if err := json.Unmarshal(data, &file); err != nil {
			t.Fatalf("jobs.json: %v", err)
		}
		if file.Version != 1 || len(file.Jobs) != 1 {
			t.Fatalf("file = %s; want version 1 with one job", data)
		}
		got := file.Jobs[0]
		chat, _ := got["chat"].(map[string]any)
		sched, _ := got["schedule"].(map[string]any)
		if got["id"] != j.ID || chat["kind"] != "direct" || chat["id"] != "0123" ||
			sched["kind"] != "every" || sched["every_seconds"] != 120.0 || got["deliver"] != true ||
			got["next_run"] != t0.Add(2*time.Minute).Format(time.RFC3339) {
			t.Errorf("job on disk = %s", data)
		}
		if _, ok := got["last_run"]; ok {
			t.Errorf("a job that never ran has last_run: %s", data)
		}
		entries, err := os.ReadDir(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			t.Errorf("cron dir holds %d entries, want only jobs.json (temporary files left behind?)", len(entries))
		}
		if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("jobs.json mode = %v, %v; want 0600", info.Mode().Perm(), err)
		}
	})
}
