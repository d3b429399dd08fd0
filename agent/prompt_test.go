package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"picoclaw"
)

// writeFiles creates files (path relative to dir → content).
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestSystemPrompt(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    []string
		notWant []string
	}{
		{
			name:    "no files",
			want:    []string{identity, "## Current context"},
			notWant: []string{"## AGENTS.md", "## SOUL.md", "## USER.md", "## IDENTITY.md", "## Memory"},
		},
		{
			name:    "some files",
			files:   map[string]string{"AGENTS.md": "agent rules", "memory/MEMORY.md": "likes tea\n"},
			want:    []string{"## AGENTS.md\n\nagent rules\n", "## Memory (memory/MEMORY.md)\n\nlikes tea\n"},
			notWant: []string{"## SOUL.md", "## USER.md", "## IDENTITY.md"},
		},
		{
			name: "all files in order",
			files: map[string]string{
				"AGENTS.md": "A", "SOUL.md": "S", "USER.md": "U", "IDENTITY.md": "I", "memory/MEMORY.md": "M",
			},
			want: []string{"## AGENTS.md\n\nA\n\n## SOUL.md\n\nS\n\n## USER.md\n\nU\n\n## IDENTITY.md\n\nI\n\n## Memory (memory/MEMORY.md)\n\nM\n"},
		},
		{
			name:    "empty file is left out",
			files:   map[string]string{"SOUL.md": "  \n"},
			notWant: []string{"## SOUL.md"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			got, err := SystemPrompt(dir, testNow, testIn)
			if err != nil {
				t.Fatalf("SystemPrompt: %v", err)
			}
			if !strings.HasPrefix(got, identity) {
				t.Errorf("prompt does not start with the identity line:\n%s", got)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("prompt lacks %q:\n%s", w, got)
				}
			}
			for _, nw := range tt.notWant {
				if strings.Contains(got, nw) {
					t.Errorf("prompt has %q:\n%s", nw, got)
				}
			}
		})
	}
}

func TestSystemPromptContext(t *testing.T) {
	got, err := SystemPrompt("", testNow, testIn)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		"2026-03-04 09:30:00 Wednesday CST (UTC+08:00)",
		"Channel: dingtalk",
		"Chat: group cidAbC+/x==",
		"Sender: 张三 (id staff01)",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("prompt lacks %q:\n%s", w, got)
		}
	}
}

func TestSystemPromptUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"USER.md": "user facts"})
	// A directory where a file should be cannot be read as one.
	if err := os.Mkdir(filepath.Join(dir, "SOUL.md"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := SystemPrompt(dir, testNow, testIn)
	if err == nil || !strings.Contains(err.Error(), "SOUL.md") {
		t.Errorf("err = %v, want one naming SOUL.md", err)
	}
	if !strings.Contains(got, "user facts") || strings.Contains(got, "## SOUL.md") {
		t.Errorf("prompt should keep the readable files and skip SOUL.md:\n%s", got)
	}
}

func TestPromptBuilderSeesChanges(t *testing.T) {
	dir := t.TempDir()
	b := NewPromptBuilder(dir)
	build := func() string {
		t.Helper()
		got, err := b.Build(testNow, testIn)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	writeFiles(t, dir, map[string]string{"memory/MEMORY.md": "v1"})
	if got := build(); !strings.Contains(got, "v1") {
		t.Fatalf("prompt lacks v1:\n%s", got)
	}
	// Same size, new mtime.
	writeFiles(t, dir, map[string]string{"memory/MEMORY.md": "v2"})
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "memory/MEMORY.md"), later, later); err != nil {
		t.Fatal(err)
	}
	if got := build(); !strings.Contains(got, "v2") {
		t.Errorf("prompt did not pick up the edit:\n%s", got)
	}
	if err := os.Remove(filepath.Join(dir, "memory/MEMORY.md")); err != nil {
		t.Fatal(err)
	}
	if got := build(); strings.Contains(got, "## Memory") {
		t.Errorf("prompt still has the removed file:\n%s", got)
	}
}

func TestPromptFileTruncated(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"USER.md": strings.Repeat("é", maxPromptFile)})
	got, err := SystemPrompt(dir, testNow, testIn)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "[truncated") || len(got) > maxPromptFile+2000 {
		t.Errorf("prompt is %d bytes, want the file cut at %d with a note", len(got), maxPromptFile)
	}
}

func BenchmarkSystemPrompt(b *testing.B) {
	dir := b.TempDir()
	writeFiles(b, dir, map[string]string{
		"AGENTS.md":        strings.Repeat("Be helpful. ", 200),
		"SOUL.md":          strings.Repeat("Warm and direct. ", 100),
		"USER.md":          strings.Repeat("Lives in Hangzhou. ", 50),
		"IDENTITY.md":      "PicoClaw",
		"memory/MEMORY.md": strings.Repeat("- likes tea\n", 300),
	})
	pb := NewPromptBuilder(dir)
	in := picoclaw.Inbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}, SenderName: "Li"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pb.Build(testNow, in); err != nil {
			b.Fatal(err)
		}
	}
}

// The skill list is cached between turns, yet every change to the skills
// shows in the next prompt.
func TestPromptBuilderSeesSkillChanges(t *testing.T) {
	dir := t.TempDir()
	b := NewPromptBuilder(dir)
	build := func() string {
		t.Helper()
		got, err := b.Build(testNow, testIn)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	skill := func(name, desc string) string {
		return "---\nname: " + name + "\ndescription: " + desc + "\n---\n"
	}
	touch := func(rel string, d time.Duration) {
		t.Helper()
		at := time.Now().Add(d)
		if err := os.Chtimes(filepath.Join(dir, rel), at, at); err != nil {
			t.Fatal(err)
		}
	}
	if got := build(); strings.Contains(got, "## Skills") {
		t.Fatalf("prompt lists skills before there are any:\n%s", got)
	}
	writeFiles(t, dir, map[string]string{"skills/weather/SKILL.md": skill("weather", "Forecasts v1.")})
	if got := build(); !strings.Contains(got, "Forecasts v1.") {
		t.Fatalf("new skill missing:\n%s", got)
	}
	// Edited in place, same size: its time tells.
	writeFiles(t, dir, map[string]string{"skills/weather/SKILL.md": skill("weather", "Forecasts v2.")})
	touch("skills/weather/SKILL.md", time.Hour)
	if got := build(); !strings.Contains(got, "Forecasts v2.") {
		t.Errorf("edited skill not seen:\n%s", got)
	}
	// A skill directory made first, its SKILL.md written later.
	if err := os.Mkdir(filepath.Join(dir, "skills", "notes"), 0o700); err != nil {
		t.Fatal(err)
	}
	build()
	writeFiles(t, dir, map[string]string{"skills/notes/SKILL.md": skill("notes", "Take notes.")})
	if got := build(); !strings.Contains(got, "Take notes.") {
		t.Errorf("SKILL.md written into an existing directory not seen:\n%s", got)
	}
	if err := os.RemoveAll(filepath.Join(dir, "skills", "weather")); err != nil {
		t.Fatal(err)
	}
	if got := build(); strings.Contains(got, "Forecasts") {
		t.Errorf("removed skill still listed:\n%s", got)
	}
}
