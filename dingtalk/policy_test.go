package dingtalk

import (
	"encoding/json"
	"testing"
)

func TestPolicyAllowed(t *testing.T) {
	msg := &botMessage{SenderStaffID: "0123", SenderID: "$:LWCP_v1:$abc=="}
	external := &botMessage{SenderID: "$:LWCP_v1:$ext=="}
	tests := []struct {
		name  string
		allow []string
		m     *botMessage
		want  bool
	}{
		{"empty list allows all", nil, msg, true},
		{"staff id", []string{"0123"}, msg, true},
		{"staff id prefixed", []string{"dingtalk:0123"}, msg, true},
		{"sender id", []string{"$:LWCP_v1:$abc=="}, msg, true},
		{"sender id prefixed", []string{"dingtalk:$:LWCP_v1:$abc=="}, msg, true},
		{"wildcard", []string{"*"}, msg, true},
		{"other user", []string{"0456", "dingtalk:0789"}, msg, false},
		{"leading zero matters", []string{"123"}, msg, false},
		{"case sensitive", []string{"$:lwcp_v1:$ABC=="}, msg, false},
		{"other channel prefix", []string{"telegram:0123"}, msg, false},
		{"external user by sender id", []string{"dingtalk:$:LWCP_v1:$ext=="}, external, true},
		{"empty entry never matches empty staff id", []string{"", "dingtalk:"}, external, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (policy{AllowFrom: tt.allow}).Allowed(tt.m); got != tt.want {
				t.Errorf("Allowed() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPolicyTrigger(t *testing.T) {
	private := &botMessage{ConversationType: conversationDirect}
	mentioned := &botMessage{ConversationType: conversationGroup, IsInAtList: true}
	unmentioned := &botMessage{ConversationType: conversationGroup}
	unknown := &botMessage{ConversationType: "3", IsInAtList: true}
	prefixes := []string{"/ask", "bot,"}
	tests := []struct {
		name     string
		p        policy
		m        *botMessage
		text     string
		wantText string
		want     bool
	}{
		{"private always", policy{MentionOnly: true}, private, " hi ", "hi", true},
		{"private with prefixes", policy{Prefixes: prefixes}, private, "hi", "hi", true},
		{"group mentioned, mention_only", policy{MentionOnly: true}, mentioned, "hi", "hi", true},
		{"group unmentioned, mention_only", policy{MentionOnly: true}, unmentioned, "/ask hi", "", false},
		{"group unmentioned, no trigger config", policy{}, unmentioned, " hi", "hi", true},
		{"group unmentioned, prefix matches", policy{Prefixes: prefixes}, unmentioned, "/ask  what time", "what time", true},
		{"group unmentioned, second prefix", policy{Prefixes: prefixes}, unmentioned, "bot, hi", "hi", true},
		{"group unmentioned, no prefix", policy{Prefixes: prefixes}, unmentioned, "hello /ask", "", false},
		{"group mentioned, prefixes, no prefix", policy{Prefixes: prefixes}, mentioned, "hello", "hello", true},
		{"group mentioned, prefix kept as PicoClaw does", policy{Prefixes: prefixes}, mentioned, "/ask x", "/ask x", true},
		{"empty prefix ignored", policy{Prefixes: []string{""}}, unmentioned, "hi", "", false},
		{"unknown conversation type", policy{}, unknown, "hi", "", false},
		{"text that mentions never triggers", policy{MentionOnly: true}, unmentioned, "@bot hi", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, ok := tt.p.Trigger(tt.m, tt.text)
			if ok != tt.want || (ok && text != tt.wantText) {
				t.Errorf("Trigger(%q) = %q, %v; want %q, %v", tt.text, text, ok, tt.wantText, tt.want)
			}
		})
	}
}

func TestStripLeadingMentions(t *testing.T) {
	tests := []struct{ in, want string }{
		{"@bot  line1\n\nline2", "line1\n\nline2"},
		{" 测试数据", "测试数据"},
		{"@bot @李四 hi @bot", "hi @bot"},
		{"\n\t@bot\nhi\n  indented", "hi\n  indented"},
		{"@bot", ""},
		{"   ", ""},
		{"@ lone at", "@ lone at"},
		{"hi @bot", "hi @bot"},
		{"　@小白　全角空格", "全角空格"},
		{" 给 发个消息“你好”", "给 发个消息“你好”"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := stripLeadingMentions(tt.in); got != tt.want {
				t.Errorf("StripLeadingMentions(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestPromptText(t *testing.T) {
	tests := []struct {
		name string
		m    *botMessage
		want string
	}{
		{"richText mentions logged", parseFixture(t, "bot-richtext-mentions-logged.json"), "给@李四发个消息“你12好”"},
		{"text group logged", parseFixture(t, "bot-text-group-at-logged.json"), "给 发个消息“你好”"},
		{"richText picture", parseFixture(t, "bot-richtext-picture.json"), "这个问题示例图如下：通过以上示意图可以明白完整的交互流程"},
		{"audio", parseFixture(t, "bot-audio.json"), "钉钉PaaS开放中心，致力为企业……"},
		{"picture", parseFixture(t, "bot-picture.json"), ""},
		{"richText newlines kept", richText(t, "@小白", " ", "line1\n\n", "line2"), "line1\n\nline2"},
		{"richText mention after text kept", richText(t, "问", "@小白"), "问@小白"},
		{"text newlines kept", &botMessage{MsgType: msgText, Text: textContent{Content: "@bot  a\n\nb"}}, "a\n\nb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.PromptText(); got != tt.want {
				t.Errorf("PromptText() = %q, want %q", got, tt.want)
			}
		})
	}
}

func richText(t *testing.T, texts ...string) *botMessage {
	t.Helper()
	segs := make([]richTextSegment, len(texts))
	for i, s := range texts {
		segs[i] = richTextSegment{Text: s}
	}
	content, err := json.Marshal(map[string]any{"richText": segs})
	if err != nil {
		t.Fatal(err)
	}
	return &botMessage{MsgID: "m", MsgType: msgRichText, Content: content}
}

func TestPolicyGroupRule(t *testing.T) {
	rules := map[string]GroupRule{
		"cidOpen":   {Answered: true, MentionOnly: false, AllowFrom: []string{"*"}},
		"cidPrefix": {Answered: true, MentionOnly: false, Prefixes: []string{"/ai"}, AllowFrom: []string{"0123"}},
		"cidOff":    {Answered: false, MentionOnly: false},
	}
	p := policy{AllowFrom: []string{"0999"}, MentionOnly: true, Group: func(cid string) GroupRule { return rules[cid] }}
	msg := func(cid string) *botMessage {
		return &botMessage{ConversationType: conversationGroup, ConversationID: cid, SenderStaffID: "0123"}
	}
	tests := []struct {
		name                  string
		m                     *botMessage
		answers, allowed, trg bool
		text                  string
	}{
		{"group open to all, no mention needed", msg("cidOpen"), true, true, true, "hi"},
		{"group with its own allow list and prefix", msg("cidPrefix"), true, true, false, ""},
		{"group switched off", msg("cidOff"), false, true, false, ""},
		{"unknown group gets the zero rule: not answered", msg("cidNew"), false, true, false, ""},
		{"private chat keeps the bot's rules", &botMessage{ConversationType: conversationDirect, SenderStaffID: "0123"}, true, false, true, "hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Answers(tt.m); got != tt.answers {
				t.Errorf("Answers = %v, want %v", got, tt.answers)
			}
			if got := p.Allowed(tt.m); got != tt.allowed {
				t.Errorf("Allowed = %v, want %v", got, tt.allowed)
			}
			text, ok := p.Trigger(tt.m, " hi ")
			if ok != tt.trg || (ok && text != tt.text) {
				t.Errorf("Trigger = %q, %v; want %q, %v", text, ok, tt.text, tt.trg)
			}
		})
	}
	if text, ok := p.Trigger(msg("cidPrefix"), "/ai go"); !ok || text != "go" {
		t.Errorf("group prefix: Trigger = %q, %v", text, ok)
	}
}

// Direct gives private chats their allow list at each message: a reloaded
// allow_from applies to the next message.
func TestPolicyDirectAllowList(t *testing.T) {
	allow := []string{"0999"}
	p := policy{AllowFrom: []string{"0123"}, Direct: func() []string { return allow }}
	m := &botMessage{ConversationType: conversationDirect, SenderStaffID: "0123"}
	if p.Allowed(m) {
		t.Error("Direct's list was not used in place of AllowFrom")
	}
	allow = []string{"0123"}
	if !p.Allowed(m) {
		t.Error("a changed Direct list was not applied to the next message")
	}
}
