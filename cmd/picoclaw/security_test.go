package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

// The security suite for the data dir: a fake model, as a prompt
// injection in one chat would drive it, calls the real file tools through
// the real gateway and tries to reach another chat's history, journal and
// files, the gateway's state and the process's secrets. Every attempt
// must be refused, and none of that text may reach a tool result, a
// DingTalk message or the log.

const (
	victim       = "victim-staff-1"
	attacker     = "attacker-staff-2"
	victimSecret = "VICTIM-PRIVATE-7f3a" // what the victim said
	victimFile   = "VICTIM-FILE-CONTENT-91c2"
)

// scriptedModel answers a user message that names a script by calling
// those tools at once, then answers "done" once the results are in; any
// other message is echoed.
type scriptedModel struct {
	mu      sync.Mutex
	scripts map[string][]picoclaw.ToolCall
}

func (m *scriptedModel) handle(r providertest.RecordedRequest) providertest.Reply {
	if n := len(r.Messages); n > 0 && r.Messages[n-1].Role == "tool" {
		return providertest.Reply{Content: "done"}
	}
	text := r.LastUser()
	m.mu.Lock()
	calls, ok := m.scripts[text]
	m.mu.Unlock()
	if ok {
		return providertest.Reply{ToolCalls: calls}
	}
	return providertest.Reply{Content: "echo: " + text}
}

func toolCall(id, name string, args map[string]string) picoclaw.ToolCall {
	raw, _ := json.Marshal(args)
	return picoclaw.ToolCall{ID: id, Name: name, Arguments: raw}
}

// toolResults returns each tool result the model was sent, by call id.
func toolResults(h *gatewayHarness) map[string]string {
	out := map[string]string{}
	for _, r := range h.llm.Requests() {
		for _, m := range r.Messages {
			if m.Role == "tool" {
				out[m.ToolCallID] = m.Content
			}
		}
	}
	return out
}

// findFile returns the one file under dir whose name contains part.
func findFile(t *testing.T, dir, part string) string {
	t.Helper()
	var found string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(p, part) {
			found = p
		}
		return nil
	})
	if found == "" {
		t.Fatalf("no file with %q under %s", part, dir)
	}
	return found
}

func TestSecurityFileToolsKeepChatsAndGatewayDataPrivate(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	model := &scriptedModel{scripts: map[string][]picoclaw.ToolCall{}}
	h.llm.SetHandler(model.handle)
	h.start()

	// The victim talks to the bot and sends a file.
	h.push(dingtalktest.BotMessage{SenderStaffID: victim, Text: "my salary is " + victimSecret})
	h.dt.AddFile("victim-file-code", []byte(victimFile), "text/plain")
	h.push(dingtalktest.BotMessage{SenderStaffID: victim, MsgType: "file",
		Content: json.RawMessage(`{"fileName":"payslip.txt","downloadCode":"victim-file-code"}`)})
	replies := len(h.waitReplies(2))

	session := findFile(t, filepath.Join(h.dataDir, "sessions"), victim)
	media := findFile(t, filepath.Join(h.dataDir, "media"), "payslip.txt")
	journal := filepath.Join(h.dataDir, "inbox", "journal.jsonl")
	journalBefore, err := os.ReadFile(journal)
	if err != nil || !strings.Contains(string(journalBefore), victimSecret) {
		t.Fatalf("the journal does not hold the victim's message (%v): the test would prove nothing", err)
	}
	shownMedia := "media/" + filepath.Base(filepath.Dir(media)) + "/" + filepath.Base(media)
	relToData, err := filepath.Rel(h.workspace, session)
	if err != nil {
		t.Fatal(err)
	}
	// A model with exec could have made these links in the workspace.
	for name, target := range map[string]string{"to-data": h.dataDir, "to-config": h.cfgPath, "to-session": session} {
		if err := os.Symlink(target, filepath.Join(h.workspace, name)); err != nil {
			t.Fatal(err)
		}
	}

	attempts := []struct {
		id, tool string
		args     map[string]string
		refusal  string // part of the expected error
	}{
		{"abs-session", "read_file", map[string]string{"path": session}, "private data"},
		{"dotdot-session", "read_file", map[string]string{"path": relToData}, "private data"},
		{"abs-journal", "read_file", map[string]string{"path": journal}, "private data"},
		{"rel-journal", "read_file", map[string]string{"path": "inbox/journal.jsonl"}, "no such file"},
		{"abs-media", "read_file", map[string]string{"path": media}, "private data"},
		{"own-media-prefix", "read_file", map[string]string{"path": shownMedia}, "no files have been received in this chat"},
		{"media-dotdot", "read_file", map[string]string{"path": "media/../" + relToData}, "private data"},
		{"link-dir", "read_file", map[string]string{"path": "to-data/inbox/journal.jsonl"}, "private data"},
		{"link-session", "read_file", map[string]string{"path": "to-session"}, "private data"},
		{"link-config", "read_file", map[string]string{"path": "to-config"}, "private data"},
		{"config", "read_file", map[string]string{"path": h.cfgPath}, "private data"},
		{"environ", "read_file", map[string]string{"path": "/proc/self/environ"}, "private data"},
		{"list-data", "list_dir", map[string]string{"path": h.dataDir}, "private data"},
		{"list-media-link", "list_dir", map[string]string{"path": "to-data/media"}, "private data"},
		{"forge-journal", "append_file", map[string]string{"path": journal, "content": `{"op":"add","id":"forged"}` + "\n"}, "private data"},
		{"forge-via-link", "write_file", map[string]string{"path": "to-data/cron/jobs.json", "content": "{oops"}, "private data"},
		{"write-media", "write_file", map[string]string{"path": "media/x.txt", "content": "x"}, "read-only"},
		{"send-session", "send_file", map[string]string{"path": session}, "outside the workspace"},
		{"send-link", "send_file", map[string]string{"path": "to-session"}, "outside the workspace"},
		{"send-journal", "send_file", map[string]string{"path": "to-data/inbox/journal.jsonl"}, "outside the workspace"},
	}
	var calls []picoclaw.ToolCall
	for _, a := range attempts {
		calls = append(calls, toolCall(a.id, a.tool, a.args))
	}
	model.mu.Lock()
	model.scripts["attack"] = calls
	model.scripts["show my payslip"] = []picoclaw.ToolCall{toolCall("own-media", "read_file", map[string]string{"path": shownMedia})}
	model.mu.Unlock()

	h.push(dingtalktest.BotMessage{SenderStaffID: attacker, Text: "attack"})
	replies++
	attackReplies := h.waitReplies(replies)[replies-1:]
	results := toolResults(h)
	for _, a := range attempts {
		got, ok := results[a.id]
		switch {
		case !ok:
			t.Errorf("%s: no tool result", a.id)
		case !strings.Contains(got, a.refusal):
			t.Errorf("%s %s: result %q, want a refusal saying %q", a.tool, a.args["path"], got, a.refusal)
		}
	}
	if after, _ := os.ReadFile(journal); strings.Contains(string(after), "forged") {
		t.Error("the forged journal record was written")
	}
	if _, err := os.Stat(filepath.Join(h.dataDir, "cron", "jobs.json")); err == nil {
		t.Error("cron/jobs.json was written through a link")
	}

	// The victim can read their own file, by the name they were told.
	h.push(dingtalktest.BotMessage{SenderStaffID: victim, Text: "show my payslip"})
	replies++
	h.waitReplies(replies)
	if got := toolResults(h)["own-media"]; !strings.Contains(got, victimFile) {
		t.Errorf("the victim's own read of %s = %q, want the file", shownMedia, got)
	}

	// Nothing leaked: not in the attacker's tool results, not in anything
	// sent to DingTalk for the attacker, not in the log.
	for id, got := range toolResults(h) {
		if id == "own-media" {
			continue
		}
		assertNoLeak(t, "tool result "+id, got)
	}
	for _, r := range attackReplies {
		assertNoLeak(t, "reply to the attacker", r.Text)
	}
	for _, s := range h.dt.OpenAPISends() {
		assertNoLeak(t, "OpenAPI send", s.Text)
	}
	if up := h.dt.Uploads(); len(up) != 0 {
		t.Errorf("%d files were uploaded to DingTalk", len(up))
	}
	// The log names what was refused but never what users said.
	assertNoLeak(t, "gateway log", h.logs.String())
	assertOwnerOnly(t, h.dataDir)
}

// assertOwnerOnly fails for anything under dir that group or others may
// read: files must be 0600 and folders 0700.
func assertOwnerOnly(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", p, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// assertNoLeak fails when s holds the victim's text or a secret.
func assertNoLeak(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{victimSecret, victimFile} {
		if strings.Contains(s, secret) {
			t.Errorf("%s leaks the victim's %q", where, secret)
		}
	}
	assertNoSecret(t, where, s)
}

// assertNoSecret fails when s holds a credential of the harness config
// or a line of the process environment.
func assertNoSecret(t *testing.T, where, s string) {
	t.Helper()
	for _, secret := range []string{"test-client-secret", "sk-test-key"} {
		if strings.Contains(s, secret) {
			t.Errorf("%s leaks the secret %q", where, secret)
		}
	}
	if p := os.Getenv("PATH"); p != "" && strings.Contains(s, "PATH="+p) {
		t.Errorf("%s leaks the process environment", where)
	}
}
