package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"picoclaw/dingtalk"
	"picoclaw/dingtalk/dingtalktest"
)

// Delivery end to end: which route the real gateway picks (session
// webhook or OpenAPI) and what arrives, against the fake DingTalk.

// mixedCaseGroup checks that conversation ids keep their case and base64
// characters on the way to groupMessages/send.
const mixedCaseGroup = "cidMixedCASE+Group/Id0=="

// released is a closed channel, so llmHandler never blocks on "slow".
func released() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// editConfig changes the harness's config.json before the gateway starts;
// edit gets the whole document and channels.dingtalk.
func editConfig(t *testing.T, h *gatewayHarness, edit func(cfg, dingtalk map[string]any)) {
	t.Helper()
	cfg := configJSON(t, h)
	edit(cfg, cfg["channels"].(map[string]any)["dingtalk"].(map[string]any))
	writeConfigJSON(t, h, cfg)
}

// configJSON returns the harness's config.json as a JSON tree.
func configJSON(t *testing.T, h *gatewayHarness) map[string]any {
	t.Helper()
	data, err := os.ReadFile(h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// writeConfigJSON writes cfg as the harness's config.json.
func writeConfigJSON(t *testing.T, h *gatewayHarness, cfg map[string]any) {
	t.Helper()
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitSends waits until the fake accepted n OpenAPI robot messages.
func waitSends(t *testing.T, dt *dingtalktest.Server, n int) []dingtalktest.OpenAPISend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	sends, err := dt.WaitOpenAPISends(ctx, n)
	if err != nil {
		t.Fatalf("waiting for %d OpenAPI sends (have %d): %v", n, len(dt.OpenAPISends()), err)
	}
	return sends
}

// checkSend compares the route and text of an OpenAPI message.
func checkSend(t *testing.T, got, want dingtalktest.OpenAPISend) {
	t.Helper()
	if got.Kind != want.Kind || got.OpenConversationID != want.OpenConversationID || !slices.Equal(got.UserIDs, want.UserIDs) {
		t.Errorf("OpenAPI send went to %s %q %q, want %s %q %q",
			got.Kind, got.OpenConversationID, got.UserIDs, want.Kind, want.OpenConversationID, want.UserIDs)
	}
	if got.MsgKey != "sampleMarkdown" || got.Text != want.Text {
		t.Errorf("OpenAPI send = %s %q, want sampleMarkdown %q", got.MsgKey, got.Text, want.Text)
	}
}

// A webhook that expires within the channel's 5-minute margin is not used:
// the answer goes by OpenAPI, to the staff id or the group's conversation.
func TestDeliveryExpiringWebhookGoesByOpenAPI(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.SetHandler(llmHandler(released()))
	h.start()

	tests := []struct {
		name string
		msg  dingtalktest.BotMessage
		want dingtalktest.OpenAPISend
	}{
		{"private chat: batchSend to the staff id",
			dingtalktest.BotMessage{SenderStaffID: alice, Text: "private question", WebhookTTL: time.Minute},
			dingtalktest.OpenAPISend{Kind: "direct", UserIDs: []string{alice}, Text: "echo: private question"}},
		{"group: groupMessages/send to the conversation id, case kept",
			dingtalktest.BotMessage{Group: true, ConversationID: mixedCaseGroup, SenderStaffID: "group-member-1",
				InAtList: true, Text: "group question", WebhookTTL: time.Minute},
			dingtalktest.OpenAPISend{Kind: "group", OpenConversationID: mixedCaseGroup, Text: "echo: group question"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.push(tt.msg)
			checkSend(t, waitSends(t, h.dt, i+1)[i], tt.want)
		})
	}
	if n := len(h.dt.Replies()); n != 0 {
		t.Errorf("%d replies went through webhooks about to expire", n)
	}
}

// A webhook answering 300001 is dropped mid-answer: every part of a long
// answer still arrives, in order, by OpenAPI; the next message's fresh
// webhook is used again.
func TestDeliveryWebhook300001FallsBackToOpenAPI(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.SetHandler(llmHandler(released()))
	h.start()
	h.dt.FailWebhook(dingtalktest.ErrcodeSessionMissing, 1)
	h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "long answer please"})

	want := normalize(longAnswer())
	var parts []dingtalktest.OpenAPISend
	for n := 1; ; n++ {
		// The number of parts is the splitter's business: wait for the last.
		parts = waitSends(t, h.dt, n)
		if normalize(joinSends(parts)) == want || n > 20 {
			break
		}
	}
	if len(parts) < 3 {
		t.Errorf("the long answer came in %d OpenAPI messages, want at least 3", len(parts))
	}
	for i, p := range parts {
		if p.Kind != "direct" || !slices.Equal(p.UserIDs, []string{alice}) {
			t.Errorf("part %d went to %s %q, want the asker %s", i, p.Kind, p.UserIDs, alice)
		}
	}
	if normalize(joinSends(parts)) != want {
		t.Errorf("the OpenAPI parts joined do not give back the answer in order")
	}
	if n := len(h.dt.Replies()); n != 0 {
		t.Errorf("%d parts went through the expired webhook", n)
	}

	h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "short one"})
	if got := h.waitReplies(1)[0]; got.Text != "echo: short one" {
		t.Errorf("next reply = %q by webhook, want the answer to the new message", got.Text)
	}
	if n := len(h.dt.OpenAPISends()); n != len(parts) {
		t.Errorf("%d OpenAPI sends after a fresh webhook came, want %d", n, len(parts))
	}
}

func joinSends(sends []dingtalktest.OpenAPISend) string {
	var b strings.Builder
	for _, s := range sends {
		b.WriteString(s.Text)
	}
	return b.String()
}

// Cron jobs fire after the chats' webhooks expired: a delivered job's text
// and a job's agent answer reach the private chat and the group by OpenAPI.
func TestDeliveryCronAfterWebhookExpired(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.SetHandler(llmHandler(released()))
	h.start()
	// Both chats write once: the gateway remembers their webhooks.
	h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "hi"})
	h.push(dingtalktest.BotMessage{Group: true, ConversationID: mixedCaseGroup, SenderStaffID: "group-member-1",
		InAtList: true, Text: "hi all"})
	h.waitReplies(2)

	// The cron service rereads jobs.json only every 30 s, so the jobs are
	// added while the gateway is down. Meanwhile DingTalk expires the
	// webhooks, which the gateway's remembered routes still call fresh.
	if code := h.stop(); code != 0 {
		t.Fatalf("gateway exit code %d, want 0", code)
	}
	h.dt.ExpireWebhooks()
	// RFC3339 with an offset, as a user in China would write it.
	at := time.Now().Add(2 * time.Second).In(time.FixedZone("CST", 8*3600)).Format(time.RFC3339)
	c := &cronCLI{t: t, cfgPath: h.cfgPath, workspace: h.workspace, dataDir: h.dataDir}
	c.mustRun("add", "--name", "dm", "--message", "Stand-up in 5 minutes", "--at", at,
		"--chat", "dingtalk:direct:"+alice, "--deliver")
	c.mustRun("add", "--name", "group", "--message", "Group stand-up now", "--at", at,
		"--chat", "dingtalk:group:"+mixedCaseGroup, "--deliver")
	c.mustRun("add", "--name", "ask", "--message", "cron question: weekly summary", "--at", at,
		"--chat", "dingtalk:group:"+mixedCaseGroup)
	h.start()

	sends := waitSends(t, h.dt, 3)
	find := func(pred func(dingtalktest.OpenAPISend) bool) (dingtalktest.OpenAPISend, bool) {
		i := slices.IndexFunc(sends, pred)
		if i < 0 {
			return dingtalktest.OpenAPISend{}, false
		}
		return sends[i], true
	}
	tests := []struct {
		name string
		pred func(dingtalktest.OpenAPISend) bool
		want dingtalktest.OpenAPISend
	}{
		{"delivered job to the private chat",
			func(s dingtalktest.OpenAPISend) bool { return s.Text == "Stand-up in 5 minutes" },
			dingtalktest.OpenAPISend{Kind: "direct", UserIDs: []string{alice}, Text: "Stand-up in 5 minutes"}},
		{"delivered job to the group",
			func(s dingtalktest.OpenAPISend) bool { return s.Text == "Group stand-up now" },
			dingtalktest.OpenAPISend{Kind: "group", OpenConversationID: mixedCaseGroup, Text: "Group stand-up now"}},
		{"agent's answer to a job",
			func(s dingtalktest.OpenAPISend) bool { return strings.HasPrefix(s.Text, "echo: ") },
			dingtalktest.OpenAPISend{Kind: "group", OpenConversationID: mixedCaseGroup}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := find(tt.pred)
			if !ok {
				t.Fatalf("not among the OpenAPI sends %+v", sends)
			}
			if tt.want.Text == "" {
				if !strings.Contains(got.Text, "cron question: weekly summary") {
					t.Errorf("answer %q is not about the job's message", got.Text)
				}
				tt.want.Text = got.Text
			}
			checkSend(t, got, tt.want)
		})
	}
	if n := len(h.dt.Replies()); n != 2 {
		t.Errorf("%d webhook replies, want only the 2 before the webhooks expired", n)
	}
}

// reasoning_channel_id may name a chat that never wrote to the bot: a
// conversation id is a group, anything else a staff id; the answer itself
// still goes to the asker.
func TestDeliveryReasoningToUnseenChat(t *testing.T) {
	tests := []struct {
		name, target string
		want         dingtalktest.OpenAPISend
	}{
		{"group id", "cidNEVER+SEEN==", dingtalktest.OpenAPISend{Kind: "group", OpenConversationID: "cidNEVER+SEEN=="}},
		{"staff id", "0999888777", dingtalktest.OpenAPISend{Kind: "direct", UserIDs: []string{"0999888777"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newGatewayHarness(t, harnessOptions{reasoningChannelID: tt.target})
			h.llm.SetHandler(llmHandler(released()))
			h.start()
			p := h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "think hard"})
			answer := h.waitReplies(1)[0]
			if answer.Session != p.Session || answer.Text != "thought-through answer" {
				t.Errorf("answer = %q to session %q, want the answer alone to the asker's %q", answer.Text, answer.Session, p.Session)
			}
			got := waitSends(t, h.dt, 1)[0]
			if !strings.HasPrefix(got.Text, dingtalk.ReasoningHeader) || !strings.Contains(got.Text, "SECRET-REASONING") {
				t.Errorf("reasoning message = %q", got.Text)
			}
			tt.want.Text = got.Text
			checkSend(t, got, tt.want)
			if n := len(h.dt.Replies()); n != 1 {
				t.Errorf("%d webhook replies, want the answer only", n)
			}
		})
	}
}

// A burst to one group is paced to DingTalk's per-chat limit, which the
// config sets: every message answered, in order, none throttled.
func TestDeliveryBurstKeepsChatLimit(t *testing.T) {
	const limit, burst = 10, 30
	h := newGatewayHarness(t, harnessOptions{})
	// A small window keeps the test short; the fake and the gateway agree.
	h.dt.ChatLimit, h.dt.ChatWindow = limit, time.Second
	editConfig(t, h, func(_, dt map[string]any) {
		dt["chat_limit"], dt["chat_window_seconds"] = limit, 1
	})
	h.llm.SetHandler(llmHandler(released()))
	h.start()
	for i := range burst {
		h.push(dingtalktest.BotMessage{Group: true, ConversationID: groupID, SenderStaffID: "group-member-1",
			InAtList: true, Text: fmt.Sprintf("burst %02d", i+1)})
	}
	got := h.waitReplies(burst)
	if len(got) != burst {
		t.Fatalf("%d replies, want %d", len(got), burst)
	}
	for i, r := range got {
		if want := fmt.Sprintf("echo: burst %02d", i+1); !strings.HasSuffix(r.Text, want) || r.ConversationID != groupID {
			t.Errorf("reply %d = %q to %q, want %q in the group", i, r.Text, r.ConversationID, want)
		}
	}
	if n := h.dt.Throttled(); n != 0 {
		t.Errorf("DingTalk throttled %d sends; the gateway broke the per-chat limit", n)
	}
	if n := len(h.dt.OpenAPISends()); n != 0 {
		t.Errorf("%d answers went by OpenAPI, want all by webhook", n)
	}
}
