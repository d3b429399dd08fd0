package workspace

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var wantFresh = []string{
	"memory/", "skills/",
	"AGENTS.md", "IDENTITY.md", "SOUL.md", "USER.md", "memory/MEMORY.md",
}

// mustInit runs Init and fails the test on error.
func mustInit(t *testing.T, dir string, force bool) []string {
	t.Helper()
	created, err := Init(dir, force)
	if err != nil {
		t.Fatalf("Init(force=%v): %v", force, err)
	}
	return created
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func template(t *testing.T, rel string) string {
	t.Helper()
	b, err := templates.ReadFile("templates/" + rel)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInitFresh(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	created := mustInit(t, dir, false)
	if !slices.Equal(created, wantFresh) {
		t.Errorf("created = %q, want %q", created, wantFresh)
	}
	for _, rel := range []string{"AGENTS.md", "SOUL.md", "USER.md", "IDENTITY.md", "memory/MEMORY.md"} {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if got := readFile(t, p); got != template(t, rel) || strings.TrimSpace(got) == "" {
			t.Errorf("%s does not hold its template", rel)
		}
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode = %v (%v), want 0600", rel, st.Mode(), err)
		}
	}
	for _, d := range []string{Memory(dir), Skills(dir)} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want a 0700 directory", d, st, err)
		}
	}
}

func TestInitKeepsUserFiles(t *testing.T) {
	dir := t.TempDir()
	mustInit(t, dir, false)
	writeFile(t, filepath.Join(dir, "USER.md"), "my own notes")
	writeFile(t, MemoryFile(dir), "remembered")
	writeFile(t, filepath.Join(dir, "notes", "todo.md"), "{}\n")
	writeFile(t, filepath.Join(Memory(dir), "2026-01.md"), "log")

	if created := mustInit(t, dir, false); len(created) != 0 {
		t.Errorf("second Init created %q, want nothing", created)
	}
	if got := readFile(t, filepath.Join(dir, "USER.md")); got != "my own notes" {
		t.Errorf("USER.md overwritten without force: %q", got)
	}

	created := mustInit(t, dir, true)
	want := []string{"USER.md.bak", "USER.md", "memory/MEMORY.md.bak", "memory/MEMORY.md"}
	if !slices.Equal(created, want) {
		t.Errorf("force created %q, want %q (unchanged templates are left alone)", created, want)
	}
	if got := readFile(t, filepath.Join(dir, "USER.md.bak")); got != "my own notes" {
		t.Errorf("USER.md.bak = %q", got)
	}
	if got := readFile(t, MemoryFile(dir)+".bak"); got != "remembered" {
		t.Errorf("MEMORY.md.bak = %q", got)
	}
	if readFile(t, filepath.Join(dir, "USER.md")) != template(t, "USER.md") {
		t.Error("force did not restore USER.md")
	}
	for name, text := range map[string]string{
		filepath.Join(dir, "notes", "todo.md"):   "{}\n",
		filepath.Join(Memory(dir), "2026-01.md"): "log",
	} {
		if got := readFile(t, name); got != text {
			t.Errorf("%s changed by force: %q", name, got)
		}
	}

	// A second forced reset keeps the first backup.
	writeFile(t, filepath.Join(dir, "USER.md"), "edited again")
	created = mustInit(t, dir, true)
	if !slices.Equal(created, []string{"USER.md.bak.1", "USER.md"}) {
		t.Errorf("second force created %q", created)
	}
	if readFile(t, filepath.Join(dir, "USER.md.bak")) != "my own notes" || readFile(t, filepath.Join(dir, "USER.md.bak.1")) != "edited again" {
		t.Error("backups not kept apart")
	}
}

func TestInitErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) string
	}{
		{"no directory", func(t *testing.T) string { return "" }},
		{"directory is a file", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "ws")
			writeFile(t, p, "x")
			return p
		}},
		{"template path is a directory", func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "SOUL.md"), 0o700); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Init(tt.setup(t), true)
			if err == nil || !strings.HasPrefix(err.Error(), "workspace: init") {
				t.Errorf("err = %v, want a workspace: init error", err)
			}
		})
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Memory("/w"), "/w/memory"},
		{MemoryFile("/w"), "/w/memory/MEMORY.md"},
		{Skills("/w"), "/w/skills"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if tt.got != filepath.FromSlash(tt.want) {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestTemplatesEmbedded(t *testing.T) {
	var names []string
	fs.WalkDir(templates, "templates", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	want := []string{"templates/AGENTS.md", "templates/IDENTITY.md", "templates/SOUL.md", "templates/USER.md", "templates/memory/MEMORY.md"}
	if !slices.Equal(names, want) {
		t.Errorf("embedded %q, want %q", names, want)
	}
}
