package picoclaw

import (
	"fmt"
	"strings"
)

// MarshalText returns "direct" or "group", the words of session keys and
// of every file that names a chat's kind; "" for an unset kind.
func (k ChatKind) MarshalText() ([]byte, error) {
	switch k {
	case ChatDirect, ChatGroup:
		return []byte(k.String()), nil
	case 0:
		return nil, nil
	default:
		return nil, fmt.Errorf("chat kind %d: expected %d (direct) or %d (group)", int(k), int(ChatDirect), int(ChatGroup))
	}
}

// UnmarshalText reads "direct" or "group"; "" is an unset kind.
func (k *ChatKind) UnmarshalText(b []byte) error {
	switch string(b) {
	case "direct":
		*k = ChatDirect
	case "group":
		*k = ChatGroup
	case "":
		*k = 0
	default:
		return fmt.Errorf(`chat kind %q: expected "direct" or "group"`, b)
	}
	return nil
}

// ParseSessionKey reads a chat's session key as NewSessionKey writes it:
// "<channel>:direct:<user id>" or "<channel>:group:<conversation id>".
// The id keeps its case and may itself contain colons.
func ParseSessionKey(s string) (channel string, chat Peer, err error) {
	parts := strings.SplitN(strings.TrimSpace(s), ":", 3)
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return "", Peer{}, fmt.Errorf(`session key %q: expected "<channel>:direct:<user id>" or "<channel>:group:<conversation id>", e.g. "dingtalk:direct:0123"`, s)
	}
	var kind ChatKind
	if err := kind.UnmarshalText([]byte(parts[1])); err != nil || kind == 0 {
		return "", Peer{}, fmt.Errorf(`session key %q: chat kind %q: expected "direct" or "group"`, s, parts[1])
	}
	return parts[0], Peer{Kind: kind, ID: parts[2]}, nil
}
