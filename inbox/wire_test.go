package inbox

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"picoclaw"
)

// A journal written before the versioned wire format (testdata/
// journal-v0.jsonl, see testdata/README.md) replays in full after the
// upgrade: every pending message with every field, the answered one not.
func TestJournalGoldenV0Replays(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "journal-v0.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeJournal(t, dir, string(raw))
	cfg := defaultConfig()
	cfg.now = func() time.Time { return time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC) }
	logs := &logRecorder{}
	b := openT(t, dir, cfg, slog.New(logs))
	if w := logs.warnings(); len(w) != 0 {
		t.Errorf("warnings replaying the v0 journal: %q", w)
	}
	cst := time.FixedZone("CST", 8*3600)
	want := []picoclaw.Inbound{
		{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "staff-A1"}, SenderID: "staff-A1", SenderName: "Alice 张", MessageID: "msg-direct-1", Text: "hello <world> & \"quotes\"\nline 2", Received: time.Date(2026, 12, 3, 20, 59, 0, 123456789, cst)},
		{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidGROUP=="}, SenderID: "staff-B2", SenderName: "Bob", MessageID: "msg-group-2", Text: "look at this", Received: time.Date(2026, 12, 3, 20, 59, 30, 0, time.UTC),
			Attachments: []picoclaw.Attachment{
				{Kind: "image", Name: "pic.png", MIMEType: "image/png", Ref: "dl-code-1"},
				{Kind: "file", Name: "report.pdf", MIMEType: "application/pdf", Path: "/ws/media/report.pdf", Size: 12345, Note: "saved as media/report.pdf"},
			}},
		{Channel: "cli", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "local"}, SenderID: "local", MessageID: "msg-session-3", Text: "cron job", Received: time.Date(2026, 12, 3, 20, 59, 45, 0, time.UTC), Session: "cron:job-7"},
	}
	got := b.Pending()
	if len(got) != len(want) {
		t.Fatalf("pending = %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Received.Equal(want[i].Received) {
			t.Errorf("message %d received %v, want %v", i, got[i].Received, want[i].Received)
		}
		got[i].Received, want[i].Received = time.Time{}, time.Time{}
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("message %d =\n%+v\nwant\n%+v", i, got[i], want[i])
		}
	}
	if !b.Seen("msg-answered-4") {
		t.Error("the answered message of the v0 journal is not recognised")
	}

	// A compaction rewrites the old records in the current format, and
	// they still read back the same.
	if err := b.compact(); err != nil {
		t.Fatal(err)
	}
	for _, l := range journalLines(t, dir) {
		if !strings.HasPrefix(l, `{"v":1,`) {
			t.Errorf("compacted line not in the v1 format: %s", l)
		}
	}
	b2 := reopenT(t, b, nil)
	if got2 := b2.Pending(); !reflect.DeepEqual(pendingIDsOf(got2), pendingIDsOf(got)) || got2[1].Attachments[1].Note != "saved as media/report.pdf" || got2[1].Chat.Kind != picoclaw.ChatGroup {
		t.Errorf("after compaction pending = %+v", got2)
	}
}

func pendingIDsOf(ins []picoclaw.Inbound) []string {
	var ids []string
	for _, in := range ins {
		ids = append(ids, in.MessageID)
	}
	return ids
}

// The v1 format names its own fields and spells the chat kind as a word.
func TestJournalV1Format(t *testing.T) {
	dir := t.TempDir()
	b := openT(t, dir, fixedConfig(), nil)
	in := newInbound("m1")
	in.Chat.Kind = picoclaw.ChatGroup
	if _, err := b.Accept(in); err != nil {
		t.Fatal(err)
	}
	line := journalLines(t, dir)[0]
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	msg, _ := m["in"].(map[string]any)
	if m["v"] != float64(1) || msg["chat_kind"] != "group" || msg["message_id"] != "m1" || msg["text"] != in.Text {
		t.Errorf("journal line = %s", line)
	}
}

func TestJournalSkipsNewerVersionAndBadKind(t *testing.T) {
	dir := t.TempDir()
	good := `{"v":1,"op":"accept","id":"ok","at":"2025-03-01T12:00:00Z","in":{"channel":"dingtalk","chat_kind":"direct","chat_id":"u","message_id":"ok","text":"hi"}}`
	writeJournal(t, dir, strings.Join([]string{
		`{"v":2,"op":"accept","id":"future","at":"2025-03-01T12:00:00Z","in":{"message_id":"future"}}`,
		`{"v":1,"op":"accept","id":"bad","at":"2025-03-01T12:00:00Z","in":{"chat_kind":"channel","message_id":"bad"}}`,
		good, ""}, "\n"))
	logs := &logRecorder{}
	b := openT(t, dir, fixedConfig(), slog.New(logs))
	if ids := pendingIDs(b); !reflect.DeepEqual(ids, []string{"ok"}) {
		t.Errorf("pending = %v, want [ok]", ids)
	}
	if logs.count("version 2") != 1 || logs.count(`chat_kind "channel"`) != 1 {
		t.Errorf("warnings = %q, want one naming the version and one the chat kind", logs.warnings())
	}
}
