package sim

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Chat kinds, as the page shows them.
const (
	KindDirect    = "direct"    // a user's private chat with the bot
	KindGroup     = "group"     // a group chat the bot is in
	KindReasoning = "reasoning" // the chat named by reasoning_channel_id
)

// BotID is the sender id of the bot's messages on the page.
const BotID = "bot"

// User is a simulated DingTalk user.
type User struct {
	StaffID string `json:"staffId"`
	Nick    string `json:"nick"`
}

// Chat is one conversation. ID is its DingTalk conversationId.
type Chat struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Title   string   `json:"title"`
	Members []string `json:"members"` // staff ids
}

// Msg is one message bubble. A card is sent again, same ID, each time it
// fills in.
type Msg struct {
	ID       string `json:"id"`
	Chat     string `json:"chat"`
	From     string `json:"from"` // a staff id, or BotID
	Nick     string `json:"nick"`
	Text     string `json:"text"`
	HTML     string `json:"html"` // Text as DingTalk renders it
	Image    string `json:"image,omitempty"`
	File     string `json:"file,omitempty"`
	FileName string `json:"fileName,omitempty"`
	Card     bool   `json:"card,omitempty"`
	Done     bool   `json:"done,omitempty"` // a card that finished streaming
	// Via says how a bot message arrived: "webhook", "openapi" or "card".
	Via string `json:"via,omitempty"`
}

// presetUsers and presetGroups are what a fresh sim shows.
var (
	presetUsers = []User{
		{StaffID: "0123456789012345", Nick: "张三"},
		{StaffID: "manager4711", Nick: "李四"},
		{StaffID: "0555000111", Nick: "Alice"},
		{StaffID: "dev2025", Nick: "Bob"},
	}
	presetGroups = []struct {
		title   string
		members []int // indexes into presetUsers
	}{
		{"产品讨论组", []int{0, 1, 2, 3}},
		{"Dev team", []int{2, 3}},
	}
)

// directChatID is the conversation id of a user's private chat.
func directChatID(staffID string) string { return "cidSIMdm" + staffID + "==" }

// groupChatID is the conversation id of the n-th group (from 1).
func groupChatID(n int) string { return fmt.Sprintf("cidSIMgroup%d==", n) }

// ReasoningChatID is the conversation the sim configures as
// reasoning_channel_id.
const ReasoningChatID = "cidSIMreasoning=="

// checkName validates a user's nick or a group's title from the page.
func checkName(what, s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", fmt.Errorf("%s: expected a name, got nothing", what)
	case utf8.RuneCountInString(s) > 40:
		return "", fmt.Errorf("%s: expected at most 40 characters, got %d", what, utf8.RuneCountInString(s))
	}
	return s, nil
}
