package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

const (
	alice      = "0123456789012345" // allowed, leading zero kept
	bob        = "0987654321"       // allowed via the dingtalk: form
	mallory    = "0555000111"       // not in allow_from
	groupID    = "cidGROUPxCONVERSATIONxID0=="
	reasonChat = "cidREASONINGxCHAT+/xx=="
)

// scripted answers keyed by the user's text, so subtests need no queue.
func llmHandler(release <-chan struct{}) func(providertest.RecordedRequest) providertest.Reply {
	return func(r providertest.RecordedRequest) providertest.Reply {
		text := r.LastUser()
		switch {
		case strings.HasPrefix(text, "long answer"):
			return providertest.Reply{Content: longAnswer(), ChunkSize: 4096}
		case strings.HasPrefix(text, "think"):
			return providertest.Reply{Reasoning: "SECRET-REASONING the user wants a short answer", Content: "thought-through answer"}
		case strings.HasPrefix(text, "slow"):
			<-release
			return providertest.Reply{Content: "slow answer"}
		default:
			return providertest.Reply{Content: "echo: " + text}
		}
	}
}

// longAnswer is 45,000 characters of paragraphs, Chinese and a code fence.
func longAnswer() string {
	var b strings.Builder
	for i := 0; b.Len() < 60000; i++ {
		switch i % 5 {
		case 0:
			b.WriteString("## 第" + strings.Repeat("十", 1+i%3) + "部分\n\n")
		case 3:
			b.WriteString("```go\nfunc main() {\n\tprintln(\"hello\")\n}\n```\n\n")
		default:
			b.WriteString(strings.Repeat("钉钉机器人 streaming answer text. ", 12) + "\n\n")
		}
	}
	r := []rune(b.String())
	return string(r[:45000])
}

func TestGatewayEndToEnd(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{
		allowFrom:          []string{alice, "dingtalk:" + bob, "group-member-1"},
		reasoningChannelID: reasonChat,
	})
	release := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	h.llm.SetHandler(llmHandler(release))
	h.start()

	replies := 0
	expect := func(n int) []dingtalktest.Reply {
		t.Helper()
		replies += n
		all := h.waitReplies(replies)
		if len(all) != replies {
			t.Fatalf("got %d replies, want exactly %d", len(all), replies)
		}
		return all[replies-n:]
	}

	t.Run("private message answered through its session webhook", func(t *testing.T) {
		p := h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "hello there"})
		got := expect(1)[0]
		if got.Session != p.Session {
			t.Errorf("reply went to session %q, want the message's own %q", got.Session, p.Session)
		}
		if got.MsgType != "markdown" || got.Text != "echo: hello there" {
			t.Errorf("reply = %s %q, want markdown %q", got.MsgType, got.Text, "echo: hello there")
		}
		if got.Title == "" || !strings.HasPrefix("echo: hello there", strings.TrimSuffix(got.Title, "…")) {
			t.Errorf("title %q is not the start of the answer", got.Title)
		}
		if ack, ok := findAck(h.dt, p.MessageID); !ok || ack.Code != 200 {
			t.Errorf("frame %s not acked with 200 (ack %+v)", p.MessageID, ack)
		}
	})

	t.Run("group mention stripped, non-mention ignored", func(t *testing.T) {
		h.push(dingtalktest.BotMessage{Group: true, ConversationID: groupID, SenderStaffID: "group-member-1", Text: "not for the bot"})
		h.push(dingtalktest.BotMessage{Group: true, ConversationID: groupID, SenderStaffID: "group-member-1", InAtList: true,
			Text: "@小白  what is 2+2?\n\nsecond line"})
		got := expect(1)[0]
		if got.ConversationID != groupID {
			t.Errorf("reply went to %q, want group %q", got.ConversationID, groupID)
		}
		// The asker is @-mentioned in group replies (reply_at_sender).
		want := "@group-member-1\n\necho: what is 2+2?\n\nsecond line"
		if got.Text != want {
			t.Errorf("model saw / answered %q, want %q (mention stripped, newlines kept)", got.Text, want)
		}
		if len(got.AtUserIDs) != 1 || got.AtUserIDs[0] != "group-member-1" {
			t.Errorf("atUserIds = %v, want the sender", got.AtUserIDs)
		}
		for _, r := range h.llm.Requests() {
			if strings.Contains(r.LastUser(), "not for the bot") {
				t.Errorf("a group message without @mention reached the model")
			}
		}
	})

	t.Run("allow_from", func(t *testing.T) {
		h.push(dingtalktest.BotMessage{SenderStaffID: mallory, Text: "let me in"})
		h.push(dingtalktest.BotMessage{SenderStaffID: bob, Text: "bob here"})
		got := expect(1)[0]
		if got.Text != "echo: bob here" {
			t.Errorf("reply = %q, want bob's answer", got.Text)
		}
		for _, r := range h.llm.Requests() {
			if strings.Contains(r.LastUser(), "let me in") {
				t.Errorf("a sender outside allow_from reached the model")
			}
		}
	})

	t.Run("redelivered message answered once", func(t *testing.T) {
		p := h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "only once"})
		if _, err := h.dt.Redeliver(p); err != nil {
			t.Fatal(err)
		}
		h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "after the duplicate"})
		got := expect(2)
		if got[0].Text != "echo: only once" || got[1].Text != "echo: after the duplicate" {
			t.Errorf("replies = %q, %q; want one answer per distinct message, in order", got[0].Text, got[1].Text)
		}
	})

	t.Run("45000-character answer split, all text in order", func(t *testing.T) {
		h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "long answer please"})
		replies += 0
		// The number of parts is the splitter's business: wait for the last.
		want := longAnswer()
		var joined strings.Builder
		var parts []dingtalktest.Reply
		for n := 1; ; n++ {
			all := h.waitReplies(replies + n)
			parts = all[replies:]
			joined.Reset()
			for _, p := range parts {
				joined.WriteString(p.Text)
			}
			if normalize(joined.String()) == normalize(want) || n > 10 {
				break
			}
		}
		replies += len(parts)
		if len(parts) < 3 {
			t.Errorf("45,000 characters came in %d messages, want at least 3", len(parts))
		}
		for i, p := range parts {
			if n := utf8.RuneCountInString(p.Text); n > 20000 {
				t.Errorf("part %d has %d characters, over 20,000", i, n)
			}
			if !utf8.ValidString(p.Text) {
				t.Errorf("part %d is not valid UTF-8", i)
			}
		}
		if normalize(joined.String()) != normalize(want) {
			t.Errorf("parts joined do not give back the answer (%d vs %d runes)", utf8.RuneCountInString(joined.String()), utf8.RuneCountInString(want))
		}
	})

	t.Run("reasoning goes to the reasoning chat only", func(t *testing.T) {
		// The reasoning chat must be known to the bot: it wrote once.
		h.push(dingtalktest.BotMessage{Group: true, ConversationID: reasonChat, SenderStaffID: "group-member-1", InAtList: true, Text: "hi"})
		expect(1)
		h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "think hard"})
		got := expect(2)
		var answer, reasoning *dingtalktest.Reply
		for i := range got {
			if got[i].ConversationID == reasonChat {
				reasoning = &got[i]
			} else {
				answer = &got[i]
			}
		}
		if answer == nil || reasoning == nil {
			t.Fatalf("want one answer and one reasoning message, got %+v", got)
		}
		if strings.Contains(answer.Text, "SECRET-REASONING") || answer.Text != "thought-through answer" {
			t.Errorf("answer = %q: reasoning mixed in or answer lost", answer.Text)
		}
		if !strings.Contains(reasoning.Text, "SECRET-REASONING") {
			t.Errorf("reasoning chat got %q", reasoning.Text)
		}
	})

	t.Run("slow chat does not delay another chat", func(t *testing.T) {
		h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "slow question"})
		h.push(dingtalktest.BotMessage{SenderStaffID: bob, Text: "quick question"})
		first := expect(1)[0]
		if first.Text != "echo: quick question" {
			t.Fatalf("first reply = %q; the quick chat waited behind the slow one", first.Text)
		}
		close(release)
		if second := expect(1)[0]; second.Text != "slow answer" {
			t.Errorf("second reply = %q, want the slow answer", second.Text)
		}
	})

	t.Run("disconnect: next connection opened and used", func(t *testing.T) {
		n := h.dt.ConnectionCount()
		if _, err := h.dt.Disconnect("connection is expired"); err != nil {
			t.Fatal(err)
		}
		waitConnections(t, h.dt, n+1)
		h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "after disconnect"})
		if got := expect(1)[0]; got.Text != "echo: after disconnect" {
			t.Errorf("reply = %q", got.Text)
		}
	})

	t.Run("dropped connection: reconnect and answer", func(t *testing.T) {
		n := h.dt.ConnectionCount()
		h.dt.CloseClientConnections()
		waitConnections(t, h.dt, n+1)
		h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "after drop"})
		if got := expect(1)[0]; got.Text != "echo: after drop" {
			t.Errorf("reply = %q", got.Text)
		}
	})

	t.Run("history kept across a restart", func(t *testing.T) {
		if code := h.stop(); code != 0 {
			t.Fatalf("gateway exit code %d after shutdown, want 0", code)
		}
		h.start()
		before := len(h.llm.Requests())
		h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "do you remember?"})
		expect(1)
		reqs := h.llm.Requests()[before:]
		if len(reqs) != 1 {
			t.Fatalf("%d model requests, want 1", len(reqs))
		}
		var history []string
		for _, m := range reqs[0].Messages {
			history = append(history, m.Content)
		}
		all := strings.Join(history, "\n")
		for _, want := range []string{"hello there", "echo: hello there", "after drop"} {
			if !strings.Contains(all, want) {
				t.Errorf("after restart the model did not see %q in the history", want)
			}
		}
	})
}

// normalize drops whitespace and fence lines a splitter may add or trim at
// part boundaries, so the comparison checks content and order only.
func normalize(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			continue
		}
		b.WriteString(strings.Join(strings.Fields(line), ""))
	}
	return b.String()
}
