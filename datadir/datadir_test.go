package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"picoclaw"
)

func mustNew(t *testing.T, root string) Dir {
	t.Helper()
	d, err := New(root)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestChatFolderIsSafeAndDistinct(t *testing.T) {
	keys := []picoclaw.SessionKey{
		"dingtalk:direct:A", "dingtalk:direct:a", "dingtalk:direct:../../etc",
		"dingtalk:group:cid/x==", "dingtalk:group:cid%2Fx==", "dingtalk:direct:" + picoclaw.SessionKey(strings.Repeat("x", 500)),
		"dingtalk:direct:" + picoclaw.SessionKey(strings.Repeat("x", 499)) + "y", "", "..", "dingtalk:direct:\x00/\\",
	}
	seen := map[string]picoclaw.SessionKey{}
	for _, k := range keys {
		name := ChatFolder(k)
		if strings.ContainsAny(name, `/\`+"\x00") || strings.Contains(name, "..") || name == "" || len(name) > 100 {
			t.Errorf("ChatFolder(%q) = %q: not a safe single file name", k, name)
		}
		if other, dup := seen[strings.ToLower(name)]; dup {
			t.Errorf("ChatFolder(%q) and ChatFolder(%q) collide (case-insensitively): %q", k, other, name)
		}
		seen[strings.ToLower(name)] = k
	}
	if got := ChatFolder("dingtalk:direct:user-1"); !strings.HasPrefix(got, "dingtalk~direct~user-1.") {
		t.Errorf("ChatFolder keeps no readable part: %q", got)
	}
	d := mustNew(t, t.TempDir())
	if got := d.ChatMedia("dingtalk:direct:../../x"); filepath.Dir(got) != d.Media() {
		t.Errorf("ChatMedia escaped the media dir: %s", got)
	}
}

// writeFile makes dir/rel with content, creating parents.
func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestMigrateMovesOldLayoutOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rename func(from, to string) error
	}{
		{"rename", os.Rename},
		{"across file systems", func(from, to string) error {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: syscall.EXDEV}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws := t.TempDir()
			d := mustNew(t, filepath.Join(t.TempDir(), "data"))
			writeFile(t, filepath.Join(ws, "sessions", "dingtalk~direct~A.jsonl"), "history of A\n", 0o644)
			writeFile(t, filepath.Join(ws, "inbox", "journal.jsonl"), "journal\n", 0o644)
			writeFile(t, filepath.Join(ws, "state", "routes.json"), "{}", 0o600)
			writeFile(t, filepath.Join(ws, "cron", "jobs.json"), `{"version":1}`, 0o600)
			writeFile(t, filepath.Join(ws, "media", "2026-01-01", "m-a.pdf"), "pdf", 0o600)
			writeFile(t, filepath.Join(ws, "AGENTS.md"), "shared", 0o600)
			if err := os.Mkdir(filepath.Join(ws, "outbox"), 0o700); err != nil { // empty: removed, not reported
				t.Fatal(err)
			}

			moved, conflicts, err := migrate(ws, d, tc.rename)
			if err != nil {
				t.Fatal(err)
			}
			if len(conflicts) != 0 {
				t.Errorf("conflicts = %v", conflicts)
			}
			if got, want := Describe(moved), "sessions/, inbox/, state/, cron/, media/"; got != want {
				t.Errorf("moved %q, want %q", got, want)
			}
			for path, want := range map[string]string{
				filepath.Join(d.Sessions(), "dingtalk~direct~A.jsonl"):  "history of A\n",
				filepath.Join(d.Inbox(), "journal.jsonl"):               "journal\n",
				filepath.Join(d.State(), "routes.json"):                 "{}",
				d.CronJobs():                                            `{"version":1}`,
				filepath.Join(d.LegacyMedia(), "2026-01-01", "m-a.pdf"): "pdf",
				filepath.Join(ws, "AGENTS.md"):                          "shared",
			} {
				raw, err := os.ReadFile(path)
				if err != nil || string(raw) != want {
					t.Errorf("%s = %q, %v; want %q", path, raw, err, want)
				}
				if strings.HasPrefix(path, d.Root()) {
					if st, _ := os.Stat(path); st.Mode().Perm() != FileMode {
						t.Errorf("%s has mode %v, want %v", path, st.Mode().Perm(), FileMode)
					}
				}
			}
			for _, gone := range []string{"sessions", "inbox", "state", "cron", "media", "outbox"} {
				if _, err := os.Lstat(filepath.Join(ws, gone)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("workspace still has %s/ (%v)", gone, err)
				}
			}
			if st, _ := os.Stat(d.Sessions()); st.Mode().Perm() != DirMode {
				t.Errorf("sessions dir mode %v, want %v", st.Mode().Perm(), DirMode)
			}
			// Migration happens once: a journal a model later forges in
			// the workspace is never taken for the gateway's.
			writeFile(t, filepath.Join(ws, "inbox", "journal.jsonl"), "forged\n", 0o600)
			moved, _, err = migrate(ws, d, tc.rename)
			if err != nil || len(moved) != 0 {
				t.Errorf("second migration moved %v, %v", moved, err)
			}
			if raw, _ := os.ReadFile(filepath.Join(d.Inbox(), "journal.jsonl")); string(raw) != "journal\n" {
				t.Errorf("journal after a second start = %q", raw)
			}
		})
	}
}

func TestMigrateMergesAndKeepsConflicts(t *testing.T) {
	ws := t.TempDir()
	d := mustNew(t, filepath.Join(t.TempDir(), "data"))
	writeFile(t, filepath.Join(ws, "sessions", "old.jsonl"), "old", 0o600)
	writeFile(t, filepath.Join(ws, "sessions", "both.jsonl"), "workspace copy", 0o600)
	writeFile(t, filepath.Join(d.Sessions(), "both.jsonl"), "data copy", 0o600)
	writeFile(t, filepath.Join(ws, "state"), "a user's file named state", 0o600)

	_, conflicts, err := Migrate(ws, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(conflicts) != 1 || conflicts[0] != filepath.Join(ws, "sessions", "both.jsonl") {
		t.Errorf("conflicts = %v", conflicts)
	}
	if raw, _ := os.ReadFile(filepath.Join(d.Sessions(), "both.jsonl")); string(raw) != "data copy" {
		t.Errorf("the data dir's copy was overwritten: %q", raw)
	}
	if raw, _ := os.ReadFile(filepath.Join(d.Sessions(), "old.jsonl")); string(raw) != "old" {
		t.Errorf("old.jsonl not merged: %q", raw)
	}
	if raw, _ := os.ReadFile(filepath.Join(ws, "state")); string(raw) != "a user's file named state" {
		t.Errorf("a plain workspace file named state was touched: %q", raw)
	}
}

func TestEnsureTightensMode(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := mustNew(t, root).Ensure(); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(root); st.Mode().Perm() != DirMode {
		t.Errorf("mode %v, want %v", st.Mode().Perm(), DirMode)
	}
}

func TestLockIsExclusiveAndNamesTheHolder(t *testing.T) {
	d := mustNew(t, filepath.Join(t.TempDir(), "data"))
	l, err := d.Lock()
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Lock()
	var le *LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second Lock = %v, want a LockedError naming pid %d", err, os.Getpid())
	}
	want := "another picoclaw gateway (pid " + strconv.Itoa(os.Getpid()) + ") is using " + d.Root()
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := d.Lock()
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	_ = l2.Unlock()
}

func TestCheckApartFollowsSymlinks(t *testing.T) {
	base := t.TempDir()
	ws := filepath.Join(base, "ws")
	if err := os.MkdirAll(filepath.Join(ws, "inner"), 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(base, "data-link")
	if err := os.Symlink(filepath.Join(ws, "inner"), link); err != nil {
		t.Fatal(err)
	}
	err := mustNew(t, link).CheckApart(ws)
	if err == nil || !strings.Contains(err.Error(), "after following symlinks") {
		t.Errorf("data dir linked into the workspace: %v, want a refusal", err)
	}
	if err := mustNew(t, filepath.Join(base, "data")).Ensure(); err != nil {
		t.Fatal(err)
	}
	if err := mustNew(t, filepath.Join(base, "data")).CheckApart(ws); err != nil {
		t.Errorf("separate folders refused: %v", err)
	}
}
