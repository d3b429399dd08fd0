package dingtalk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseBotMessage feeds arbitrary callback data to the parser and
// everything that reads a parsed message before the frame is acked: none
// may panic, and what becomes a file name or a chat id stays safe. Seeds
// are in testdata/fuzz/FuzzParseBotMessage (DingTalk's doc samples).
func FuzzParseBotMessage(f *testing.F) {
	f.Add([]byte(`{"msgId":"m1","msgtype":"text","text":{"content":"hi"},"conversationType":"1","senderStaffId":"u1"}`))
	quotes, _ := filepath.Glob(filepath.Join("testdata", "quote", "*.json"))
	for _, name := range quotes {
		if raw, err := os.ReadFile(name); err == nil {
			f.Add(raw)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseBotMessage(data)
		if err != nil {
			if m != nil {
				t.Fatal("a message returned with an error")
			}
			return
		}
		if m.MsgID == "" {
			t.Fatal("parsed a message without msgId")
		}
		if chat, ok := m.Chat(); ok && chat.ID != m.SenderKey() && chat.ID != m.ConversationID {
			t.Fatalf("chat id %q is neither the sender nor the conversation", chat.ID)
		}
		_ = m.PlainText()
		_ = m.PromptText()
		_, _ = m.Created(), m.WebhookExpiry()
		_, _ = unsupported(m)
		_, atts := attachments(m)
		for _, a := range atts {
			if a.Ref == "" {
				t.Fatalf("attachment %+v without a download code", a)
			}
			name := sanitizeName(a.Name, "file")
			if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") || len(name) > maxNameBytes+16 || !utf8.ValidString(name) {
				t.Fatalf("sanitizeName(%q) = %q: not a safe file name", a.Name, name)
			}
		}
		text, qatts := withQuote(m, m.PromptText(), atts)
		if q, ok := m.Quote(); ok {
			if utf8.RuneCountInString(q.Text) > MaxQuoteRunes+1 || len(q.Pictures) > MaxQuotePictures {
				t.Fatalf("quote not bounded: %d runes, %d pictures", utf8.RuneCountInString(q.Text), len(q.Pictures))
			}
			if !strings.HasPrefix(text, "> Replying to ") || len(qatts) != len(atts)+len(q.Pictures) {
				t.Fatalf("quote context %q with %d attachments", text, len(qatts))
			}
		}
		for _, a := range qatts {
			if a.Ref == "" {
				t.Fatalf("quoted attachment %+v without a download code", a)
			}
		}
		if id := sanitizeMsgID(m.MsgID); strings.ContainsAny(id, `/\.`) || id == "" {
			t.Fatalf("sanitizeMsgID(%q) = %q", m.MsgID, id)
		}
	})
}
