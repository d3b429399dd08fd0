package dingtalk

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw"

	"picoclaw/dingtalk/stream"
	"picoclaw/internal/testutil"
)

// chanLogs collects a channel's log output.
type chanLogs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *chanLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *chanLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var testNow = time.UnixMilli(1772377000000)

type channelHarness struct {
	ch       *Channel
	srv      *webhookServer
	logs     *chanLogs
	inbound  []picoclaw.Inbound
	clock    *testutil.Clock
	frameSeq int
}

func newChannelHarness(t *testing.T, mod func(*ChannelConfig)) *channelHarness {
	t.Helper()
	srv := newWebhookServer(t, fixtureAnswer(t, "webhook-ok.json"))
	logs := &chanLogs{}
	cfg := ChannelConfig{
		ClientID:     "dingclientid",
		ClientSecret: "SECRETxCLIENTxSECRET",
		APIBase:      srv.URL,
		HTTPClient:   srv.Client(),
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&cfg)
	}
	ch, err := NewChannel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	h := &channelHarness{ch: ch, srv: srv, logs: logs, clock: testutil.NewClock(testNow)}
	ch.now = h.clock.Now
	return h
}

// message loads a fixture and points its webhook at the test server with
// the given session, valid for an hour.
func (h *channelHarness) message(t *testing.T, fixture, session string, mod func(map[string]any)) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, fixture), &m); err != nil {
		t.Fatal(err)
	}
	m["sessionWebhook"] = h.srv.URL + "/robot/sendBySession?session=" + session
	m["sessionWebhookExpiredTime"] = testNow.Add(time.Hour).UnixMilli()
	if mod != nil {
		mod(m)
	}
	return m
}

// deliver hands data to the channel as a new frame and returns the ack code.
func (h *channelHarness) deliver(t *testing.T, data map[string]any) int {
	t.Helper()
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	h.frameSeq++
	return h.deliverRaw(string(b), "frame-"+string(rune('a'+h.frameSeq)))
}

func (h *channelHarness) deliverRaw(data, messageID string) int {
	f := &stream.Frame{Type: stream.TypeCallback, Headers: map[string]string{"topic": stream.TopicBotMessage, "messageId": messageID}, Data: data}
	return h.ch.onFrame(f, func(in picoclaw.Inbound) { h.inbound = append(h.inbound, in) })
}

func TestNewChannelRequiresCredentials(t *testing.T) {
	for _, cfg := range []ChannelConfig{{ClientSecret: "s"}, {ClientID: "id"}} {
		if _, err := NewChannel(cfg); err == nil {
			t.Errorf("NewChannel(%+v) accepted missing credentials", cfg)
		}
	}
	ch, err := NewChannel(ChannelConfig{ClientID: "id", ClientSecret: "s"})
	if err != nil || ch.Name() != "dingtalk" || ch.cfg.APIBase != defaultAPIBase || ch.Connected() {
		t.Errorf("NewChannel = %v, %v", ch, err)
	}
}

func TestChannelReceive(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		mod     func(map[string]any)
		want    picoclaw.Inbound
	}{
		{"private text", "bot-text-private.json", nil, picoclaw.Inbound{
			Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "042***297"}, SenderID: "042***297",
			MessageID: "msgY****Pw==", Text: "hello DingTalk!"}},
		{"group text, mentions stripped", "bot-text-group-at-logged.json", nil, picoclaw.Inbound{
			Chat:     picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidGROUPxCONVERSATIONxID0=="},
			SenderID: "0123456789012345", MessageID: "msgTEXTxMESSAGExIDx000000==", Text: "给 发个消息“你好”"}},
		{"group richText, leading mention segment dropped", "bot-richtext-mentions-logged.json", nil, picoclaw.Inbound{
			Chat:     picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidGROUPxCONVERSATIONxID0=="},
			SenderID: "0123456789012345", MessageID: "msgRICHxTEXTxMSGxIDx00000==", Text: "给@李四发个消息“你12好”"}},
		{"newlines survive", "bot-text-private.json", func(m map[string]any) {
			m["text"] = map[string]any{"content": "@bot  line1\n\nline2"}
		}, picoclaw.Inbound{Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "042***297"}, SenderID: "042***297",
			MessageID: "msgY****Pw==", Text: "line1\n\nline2"}},
		{"external user keyed by senderId", "bot-text-private.json", func(m map[string]any) {
			delete(m, "senderStaffId")
		}, picoclaw.Inbound{Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "$:LWC****PA=="}, SenderID: "$:LWC****PA==",
			MessageID: "msgY****Pw==", Text: "hello DingTalk!"}},
		// Media is only described here (downloaded after the ack).
		{"picture as an image attachment", "bot-picture.json", nil, picoclaw.Inbound{
			Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "042***297"}, SenderID: "042***297",
			MessageID: "msgg*****fg==", Attachments: []picoclaw.Attachment{{Kind: "image", Ref: "mIof****JE0E"}}}},
		{"file as a file attachment", "bot-file.json", nil, picoclaw.Inbound{
			Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "042***297"}, SenderID: "042***297",
			MessageID: "msg2****kg==", Attachments: []picoclaw.Attachment{{Kind: "file", Name: "foobar.zip", Ref: "LJYY****bw=="}}}},
		{"audio uses recognition, marked as voice", "bot-audio.json", nil, picoclaw.Inbound{
			Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "042***297"}, SenderID: "042***297",
			MessageID: "msg8****SA==", Text: "[voice] 钉钉PaaS开放中心，致力为企业……"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newChannelHarness(t, nil)
			if code := h.deliver(t, h.message(t, tt.fixture, "s1", tt.mod)); code != stream.AckOK {
				t.Fatalf("ack %d", code)
			}
			if len(h.inbound) != 1 {
				t.Fatalf("%d messages handled, want 1", len(h.inbound))
			}
			got := h.inbound[0]
			want := tt.want
			want.Channel, want.SenderName, want.Received = "dingtalk", "张三", testNow
			if got.Channel != want.Channel || got.Chat != want.Chat || got.SenderID != want.SenderID ||
				got.SenderName != want.SenderName || got.MessageID != want.MessageID || got.Text != want.Text ||
				!got.Received.Equal(want.Received) {
				t.Errorf("handled %+v\nwant    %+v", got, want)
			}
			if len(got.Attachments) != len(want.Attachments) {
				t.Fatalf("attachments %+v, want %+v", got.Attachments, want.Attachments)
			}
			for i, a := range want.Attachments {
				g := got.Attachments[i]
				if g.Kind != a.Kind || g.Ref != a.Ref || (a.Name != "" && g.Name != a.Name) {
					t.Errorf("attachment %d = %+v, want %+v", i, g, a)
				}
			}
		})
	}
}

func TestChannelReceiveRefusals(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(*ChannelConfig)
		fixture string
		mod     func(map[string]any)
		log     string
	}{
		{"sender not allowed", func(c *ChannelConfig) { c.AllowFrom = []string{"dingtalk:0999"} },
			"bot-text-private.json", nil, "not in allow_from"},
		{"group without mention, mention_only", func(c *ChannelConfig) { c.MentionOnly = true },
			"bot-text-group-at-logged.json", func(m map[string]any) { m["isInAtList"] = false }, "does not trigger"},
		{"group without mention or prefix", func(c *ChannelConfig) { c.Prefixes = []string{"/ask"} },
			"bot-text-group-at-logged.json", func(m map[string]any) { m["isInAtList"] = false }, "does not trigger"},
		{"empty text after stripping", nil, "bot-text-private.json",
			func(m map[string]any) { m["text"] = map[string]any{"content": " @bot  "} }, "empty text"},
		{"unknown conversation type", nil, "bot-text-private.json",
			func(m map[string]any) { m["conversationType"] = "3" }, "unknown conversation type"},
		{"group not answered", func(c *ChannelConfig) {
			c.Group = func(string) GroupRule { return GroupRule{Answered: false} }
		}, "bot-text-group-at-logged.json", nil, "group not answered"},
		{"sender not in the group's allow list", func(c *ChannelConfig) {
			c.Group = func(string) GroupRule { return GroupRule{Answered: true, AllowFrom: []string{"dingtalk:0999"}} }
		}, "bot-text-group-at-logged.json", nil, "not in allow_from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newChannelHarness(t, tt.cfg)
			if code := h.deliver(t, h.message(t, tt.fixture, "s1", tt.mod)); code != stream.AckOK {
				t.Errorf("ack %d, want 200 so DingTalk does not redeliver", code)
			}
			if len(h.inbound) != 0 {
				t.Errorf("handled %+v", h.inbound)
			}
			if logs := h.logs.String(); !strings.Contains(logs, tt.log) {
				t.Errorf("logs lack %q:\n%s", tt.log, logs)
			}
			if logs := h.logs.String(); strings.Contains(logs, "hello DingTalk") || strings.Contains(logs, "发个消息") {
				t.Errorf("logs carry the message text:\n%s", logs)
			}
		})
	}
}

// A group's own rule replaces the bot's allow list and trigger there,
// and only there.
func TestChannelReceiveGroupRule(t *testing.T) {
	var asked []string
	h := newChannelHarness(t, func(c *ChannelConfig) {
		c.AllowFrom = []string{"dingtalk:0999"}
		c.MentionOnly = true
		c.Group = func(cid string) GroupRule {
			asked = append(asked, cid)
			return GroupRule{Answered: true, AllowFrom: []string{"0123456789012345"}, Prefixes: []string{"/ai"}}
		}
	})
	unmentioned := func(m map[string]any) {
		m["isInAtList"] = false
		m["text"] = map[string]any{"content": "/ai status?"}
	}
	h.deliver(t, h.message(t, "bot-text-group-at-logged.json", "s1", unmentioned))
	if len(h.inbound) != 1 || h.inbound[0].Text != "status?" {
		t.Fatalf("handled %+v, want the prefixed group message", h.inbound)
	}
	for _, cid := range asked {
		if cid != "cidGROUPxCONVERSATIONxID0==" {
			t.Errorf("rule asked for %q, want the message's conversation id", cid)
		}
	}
	// Private chats keep the bot's own allow list.
	h.deliver(t, h.message(t, "bot-text-private.json", "s2", nil))
	if len(h.inbound) != 1 {
		t.Errorf("a private message from a user only the group allows was handled: %+v", h.inbound)
	}
}

func TestChannelReceiveAllowedBySenderID(t *testing.T) {
	h := newChannelHarness(t, func(c *ChannelConfig) { c.AllowFrom = []string{"dingtalk:$:LWC****PA=="} })
	h.deliver(t, h.message(t, "bot-text-private.json", "s1", nil))
	if len(h.inbound) != 1 {
		t.Errorf("%d handled, want 1", len(h.inbound))
	}
}

func TestChannelDeduplicates(t *testing.T) {
	h := newChannelHarness(t, nil)
	data, _ := json.Marshal(h.message(t, "bot-text-private.json", "s1", nil))
	steps := []struct {
		name, messageID string
		handled         int
	}{
		{"first delivery", "m-1", 1},
		{"same frame again", "m-1", 1},
		{"redelivery: new messageId, same msgId", "m-2", 1},
	}
	for _, s := range steps {
		if code := h.deliverRaw(string(data), s.messageID); code != stream.AckOK {
			t.Errorf("%s: ack %d", s.name, code)
		}
		if len(h.inbound) != s.handled {
			t.Errorf("%s: %d handled, want %d", s.name, len(h.inbound), s.handled)
		}
	}
	// Frames without a messageId are not all taken for one another.
	other := h.message(t, "bot-text-private.json", "s1", func(m map[string]any) { m["msgId"] = "other" })
	b, _ := json.Marshal(other)
	h.deliverRaw(string(b), "")
	other["msgId"] = "third"
	b, _ = json.Marshal(other)
	h.deliverRaw(string(b), "")
	if len(h.inbound) != 3 {
		t.Errorf("%d handled, want 3", len(h.inbound))
	}
}

func TestChannelAcks(t *testing.T) {
	h := newChannelHarness(t, nil)
	if code := h.deliverRaw("{not json", "m-1"); code != stream.AckOK {
		t.Errorf("malformed: ack %d, want 200", code)
	}
	if !strings.Contains(h.logs.String(), "malformed") {
		t.Errorf("malformed message not logged")
	}
	f := &stream.Frame{Type: stream.TypeEvent, Headers: map[string]string{"topic": "/v1.0/other", "messageId": "m-2"}, Data: "{}"}
	if code := h.ch.onFrame(f, func(picoclaw.Inbound) { t.Error("handled an unknown topic") }); code != stream.AckNotFound {
		t.Errorf("unknown topic: ack %d, want 404", code)
	}
	if len(h.inbound) != 0 {
		t.Errorf("handled %v", h.inbound)
	}
}
