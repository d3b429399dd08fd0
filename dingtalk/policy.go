package dingtalk

import (
	"strings"
	"unicode"
)

// policy decides who may use the bot and which group messages it answers.
// Its semantics follow PicoClaw's allow_from and group_trigger settings.
type policy struct {
	// AllowFrom lists the users allowed to talk to the bot, by staff id or
	// sender id, bare or as "dingtalk:<id>"; "*" allows everyone. Empty
	// allows everyone.
	AllowFrom []string
	// MentionOnly: in groups, answer only when the bot is @-mentioned.
	MentionOnly bool
	// Prefixes: in groups (MentionOnly false), also answer messages that
	// start with one of these, with the prefix stripped.
	Prefixes []string
	// Group, when set, gives each group chat its own rule (per-group
	// settings and the group allow list, resolved by the caller); nil
	// applies the fields above to every group. Private chats always use
	// the fields above.
	Group func(conversationID string) GroupRule
	// Direct, when set, replaces AllowFrom for private chats and is asked
	// per message (a reloaded config).
	Direct func() []string
}

// GroupRule is what applies in one group chat.
type GroupRule struct {
	// Answered false makes the bot ignore the group: it is not in the
	// group allow list, or its settings switch it off.
	Answered    bool
	MentionOnly bool
	Prefixes    []string
	// AllowFrom replaces policy.AllowFrom in this group.
	AllowFrom []string
}

// rule returns the rule of m's chat: its group's, or the defaults.
func (p policy) rule(m *botMessage) GroupRule {
	if m.ConversationType == conversationGroup && p.Group != nil {
		return p.Group(m.ConversationID)
	}
	allow := p.AllowFrom
	if p.Direct != nil && m.ConversationType != conversationGroup {
		allow = p.Direct()
	}
	return GroupRule{Answered: true, MentionOnly: p.MentionOnly, Prefixes: p.Prefixes, AllowFrom: allow}
}

// Answers reports whether the bot answers in m's chat at all: a group can
// be left out of the group allow list or switched off.
func (p policy) Answers(m *botMessage) bool {
	return p.rule(m).Answered
}

// Allowed reports whether the sender of m may use the bot in m's chat.
// Matching is exact and case-sensitive.
func (p policy) Allowed(m *botMessage) bool {
	allow := p.rule(m).AllowFrom
	if len(allow) == 0 {
		return true
	}
	for _, entry := range allow {
		if entry == "*" {
			return true
		}
		for _, id := range []string{m.SenderStaffID, m.SenderID} {
			if id != "" && (entry == id || entry == "dingtalk:"+id) {
				return true
			}
		}
	}
	return false
}

// Trigger decides whether the bot answers m, given its text with leading
// mentions already stripped, and returns the text to hand on (trimmed,
// with a matched prefix removed). Private chats always trigger. In groups,
// like PicoClaw's group_trigger: an @-mention of the bot (isInAtList, never
// text parsing) always triggers; otherwise MentionOnly refuses; otherwise
// configured Prefixes must match; with neither set every message triggers.
// A group's own rule (Group) takes the place of MentionOnly and Prefixes;
// a group it does not answer never triggers, not even with a mention.
// Unknown conversation types never trigger.
func (p policy) Trigger(m *botMessage, text string) (string, bool) {
	switch m.ConversationType {
	case conversationDirect:
		return strings.TrimSpace(text), true
	case conversationGroup:
	default:
		return text, false
	}
	r := p.rule(m)
	if !r.Answered {
		return text, false
	}
	if m.IsInAtList {
		return strings.TrimSpace(text), true
	}
	if r.MentionOnly {
		return text, false
	}
	if len(r.Prefixes) > 0 {
		trimmed := strings.TrimLeftFunc(text, unicode.IsSpace)
		for _, prefix := range r.Prefixes {
			if prefix != "" && strings.HasPrefix(trimmed, prefix) {
				return strings.TrimSpace(strings.TrimPrefix(trimmed, prefix)), true
			}
		}
		return text, false
	}
	return strings.TrimSpace(text), true
}

// stripLeadingMentions removes leading whitespace and leading "@Name"
// tokens (an @ followed by non-space characters, then whitespace or the
// end), repeatedly, and nothing else: the rest of the message, newlines
// included, is kept verbatim.
func stripLeadingMentions(s string) string {
	for {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		if !strings.HasPrefix(s, "@") {
			return s
		}
		end := strings.IndexFunc(s, unicode.IsSpace)
		if end < 0 {
			end = len(s)
		}
		if end == 1 { // a lone "@" is text, not a mention
			return s
		}
		s = s[end:]
	}
}

// PromptText returns the text of m as the user meant it: PlainText with
// leading @mentions removed. For richText the leading segments that are
// only @names are dropped before joining, because the joined text runs
// the mention into the words after it ("@小白给…").
func (m *botMessage) PromptText() string {
	if m.MsgType == msgRichText {
		segs, err := m.RichText()
		if err != nil {
			return ""
		}
		for len(segs) > 0 && !segs[0].IsPicture() && isMentionSegment(segs[0].Text) {
			segs = segs[1:]
		}
		return stripLeadingMentions(joinTextSegments(segs))
	}
	return stripLeadingMentions(m.PlainText())
}

// isMentionSegment reports whether a richText text segment is blank or
// one or more "@Name" tokens.
func isMentionSegment(s string) bool {
	return stripLeadingMentions(s) == ""
}
