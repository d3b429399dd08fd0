package outbox

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw"
)

// Files written by today's format are read back by every later build.
func TestGoldenV1(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "golden-v1.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("read back", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, FileName), golden, 0o600); err != nil {
			t.Fatal(err)
		}
		type call struct {
			out  picoclaw.Outbound
			from int
		}
		var mu sync.Mutex // the two chats are delivered concurrently
		var calls []call
		deliver := func(_ context.Context, out picoclaw.Outbound, from int, _ func(int, bool)) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, call{out, from})
			return nil
		}
		o, err := Open(dir, Options{Deliver: deliver})
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		st := o.Stats()
		if want := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC); st.Pending != 2 || !st.Oldest.Equal(want) {
			t.Errorf("stats = %+v, want 2 pending, oldest %v", st, want)
		}
		o.Start()
		if err := o.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		want := map[string]call{
			"0123": {picoclaw.Outbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}, Kind: picoclaw.OutAnswer,
				Text: "# Title\n\nfirst <b> & part", ReplyTo: "msgA==", SenderID: "0123"}, 1},
			"cidMixedCASE+Group/Id0==": {picoclaw.Outbound{Channel: "dingtalk", Chat: picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidMixedCASE+Group/Id0=="},
				Kind: picoclaw.OutReasoning, Text: "thinking"}, 0},
		}
		if len(calls) != len(want) {
			t.Fatalf("delivered %+v, want %d answers", calls, len(want))
		}
		for _, c := range calls {
			if w, ok := want[c.out.Chat.ID]; !ok || c != w {
				t.Errorf("delivered %+v, want %+v", c, w)
			}
		}
	})
	t.Run("encoded the same way", func(t *testing.T) {
		sc := bufio.NewScanner(bytes.NewReader(golden))
		for sc.Scan() {
			r, err := decodeRecord(sc.Bytes())
			if err != nil {
				t.Fatalf("golden line %s: %v", sc.Bytes(), err)
			}
			var buf bytes.Buffer
			if err := encodeRecord(&buf, &r); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSuffix(buf.String(), "\n"); got != sc.Text() {
				t.Errorf("re-encoded\n got %s\nwant %s", got, sc.Text())
			}
		}
	})
}

func TestDecodeRecordErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{`nope`, "not JSON"},
		{`{"v":0,"op":"done","id":1}`, "want a version"},
		{`{"v":2,"op":"done","id":1}`, "newer than this build"},
		{`{"v":1,"op":"done"}`, "field id"},
		{`{"v":1,"op":"put","id":1}`, "without field out"},
		{`{"v":1,"op":"put","id":1,"out":{"channel":"dingtalk","chat_kind":"room","chat_id":"x","kind":"answer"}}`, `chat_kind "room"`},
		{`{"v":1,"op":"put","id":1,"out":{"channel":"dingtalk","chat_kind":"group","chat_id":"x","kind":"song"}}`, `kind "song"`},
		{`{"v":1,"op":"sent","id":1,"parts":0}`, "parts 0"},
		{`{"v":1,"op":"burn","id":1}`, `op "burn"`},
		{`{"v":1,"op":"done","id":1} {}`, "trailing data"},
	}
	for _, tt := range tests {
		_, err := decodeRecord([]byte(tt.line))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("decodeRecord(%s) = %v, want an error saying %q", tt.line, err, tt.want)
		}
	}
}

// FuzzDecodeRecord: the decoder never panics, and what it accepts
// re-encodes to a record it accepts again, unchanged.
func FuzzDecodeRecord(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "golden-v1.jsonl"))
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range bytes.Split(golden, []byte("\n")) {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := decodeRecord(line)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := encodeRecord(&buf, &r); err != nil {
			t.Fatalf("accepted record does not encode: %v", err)
		}
		r2, err := decodeRecord(buf.Bytes())
		if err != nil {
			t.Fatalf("re-encoded record %s refused: %v", buf.Bytes(), err)
		}
		var buf2 bytes.Buffer
		_ = encodeRecord(&buf2, &r2)
		if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Fatalf("record changed on a round trip:\n%s\n%s", buf.Bytes(), buf2.Bytes())
		}
	})
}
