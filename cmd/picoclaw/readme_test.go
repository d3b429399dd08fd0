package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/workspace"
)

// readmeBlock returns the first ```lang block after marker in the README.
func readmeBlock(t *testing.T, marker, lang string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(data), marker)
	if !ok {
		t.Fatalf("README has no %q", marker)
	}
	_, block, ok := strings.Cut(after, "```"+lang+"\n")
	if !ok {
		t.Fatalf("README has no %s block after %q", lang, marker)
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// The README's recipe for deleting one user's data, run as written:
// nothing of that user's private chat or records is left in the data dir,
// and the gateway starts on what remains and answers the others.
func TestReadmeDeleteOneUsersData(t *testing.T) {
	for _, tool := range []string{"bash", "sed", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's recipe needs %s, which this machine lacks", tool)
		}
	}
	recipe := readmeBlock(t, "**Delete one user's data**", "sh")
	h := newGatewayHarness(t, harnessOptions{})
	h.start()
	h.push(dingtalktest.BotMessage{SenderStaffID: "0123", Text: "private plan of 0123"})
	h.push(dingtalktest.BotMessage{SenderStaffID: "0456", Text: "hello from 0456"})
	h.push(dingtalktest.BotMessage{Group: true, InAtList: true, SenderStaffID: "0123", Text: "said in the group"})
	h.waitReplies(3)
	h.stop()

	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".picoclaw"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(h.dataDir, filepath.Join(home, ".picoclaw", "data")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", recipe)
	cmd.Env = append(os.Environ(), "HOME="+home)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("recipe failed: %v\n%s", err, out)
	}

	var kept []string
	err := filepath.Walk(h.dataDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(h.dataDir, p)
		if strings.HasPrefix(rel, filepath.Join("sessions", "dingtalk~group~")) {
			return nil // the group's history keeps what was said there, as the README says
		}
		if strings.Contains(string(data), `"0123"`) || strings.Contains(string(data), "private plan") {
			t.Errorf("%s still names the user:\n%s", rel, data)
		}
		if strings.Contains(string(data), "hello from 0456") {
			kept = append(kept, rel)
		}
		if st, _ := os.Stat(p); st.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is mode %04o after the recipe, want 0600", rel, st.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) == 0 {
		t.Error("the other user's data went too")
	}

	h.start()
	h.push(dingtalktest.BotMessage{SenderStaffID: "0456", Text: "still there?"})
	h.waitReplies(4)
}

// The README's starter config is what `picoclaw onboard` writes, abridged:
// every key and value it shows is in the written file, the same.
func TestReadmeExampleConfigIsOnboards(t *testing.T) {
	var shown, written map[string]any
	if err := json.Unmarshal([]byte(readmeBlock(t, "`picoclaw onboard` writes this starter", "json")), &shown); err != nil {
		t.Fatalf("README's example is not JSON: %v", err)
	}
	if err := json.Unmarshal(workspace.DefaultConfig(workspace.DefaultWorkspace), &written); err != nil {
		t.Fatal(err)
	}
	assertSubset(t, "", shown, written)
}

func assertSubset(t *testing.T, path string, shown, written any) {
	t.Helper()
	switch s := shown.(type) {
	case map[string]any:
		w, ok := written.(map[string]any)
		if !ok {
			t.Errorf("%s: README shows an object, onboard writes %v", path, written)
			return
		}
		for k, v := range s {
			if _, ok := w[k]; !ok {
				t.Errorf("%s.%s: in the README, not in what onboard writes", path, k)
				continue
			}
			assertSubset(t, path+"."+k, v, w[k])
		}
	case []any:
		w, ok := written.([]any)
		if !ok || len(w) != len(s) {
			t.Errorf("%s: README shows %v, onboard writes %v", path, shown, written)
			return
		}
		for i := range s {
			assertSubset(t, path, s[i], w[i])
		}
	default:
		if shown != written {
			t.Errorf("%s: README shows %v, onboard writes %v", path, shown, written)
		}
	}
}
