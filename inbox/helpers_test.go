package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw"
)

// logRecorder is a slog.Handler that keeps the messages of warnings.
type logRecorder struct {
	mu    sync.Mutex
	warns []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Level < slog.LevelWarn {
		return nil
	}
	var sb strings.Builder
	sb.WriteString(rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&sb, " %s=%v", a.Key, a.Value)
		return true
	})
	r.mu.Lock()
	r.warns = append(r.warns, sb.String())
	r.mu.Unlock()
	return nil
}

func (r *logRecorder) warnings() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.warns...)
}

// count returns how many warnings contain s.
func (r *logRecorder) count(s string) int {
	n := 0
	for _, w := range r.warnings() {
		if strings.Contains(w, s) {
			n++
		}
	}
	return n
}

var testTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newInbound(id string) picoclaw.Inbound {
	return picoclaw.Inbound{
		Channel:    "dingtalk",
		Chat:       picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "staff-" + id},
		SenderID:   "staff-" + id,
		SenderName: "Zhang <San> & co",
		MessageID:  id,
		Text:       "hello \"" + id + "\"\nsecond line 你好",
		Attachments: []picoclaw.Attachment{
			{Kind: "image", Name: "a.png", MIMEType: "image/png", Ref: "dl-" + id},
		},
		Received: testTime,
	}
}

// openT opens an inbox in dir with cfg, closing it at the end of the test.
func openT(t *testing.T, dir string, cfg config, logger *slog.Logger) *Inbox {
	t.Helper()
	b, err := open(dir, logger, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// reopenT closes b and opens its directory again with the same config.
func reopenT(t *testing.T, b *Inbox, logger *slog.Logger) *Inbox {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return openT(t, b.dir, b.cfg, logger)
}

func mustAccept(t *testing.T, b *Inbox, id string) {
	t.Helper()
	isNew, err := b.Accept(newInbound(id))
	if err != nil {
		t.Fatalf("Accept(%s): %v", id, err)
	}
	if !isNew {
		t.Fatalf("Accept(%s) = false, want new", id)
	}
}

func mustDone(t *testing.T, b *Inbox, id string) {
	t.Helper()
	if err := b.Done(id); err != nil {
		t.Fatalf("Done(%s): %v", id, err)
	}
}

func pendingIDs(b *Inbox) []string {
	var ids []string
	for _, in := range b.Pending() {
		ids = append(ids, in.MessageID)
	}
	return ids
}

func journalLines(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, journalName))
	if err != nil {
		t.Fatalf("read journal: %v", err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func writeJournal(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, journalName), []byte(content), 0o600); err != nil {
		t.Fatalf("write journal: %v", err)
	}
}

// fixedConfig is the default config with the clock stopped at testTime, so
// hand-written journals dated testTime are within retention.
func fixedConfig() config {
	cfg := defaultConfig()
	cfg.now = func() time.Time { return testTime }
	return cfg
}
