package dingtalk

import (
	"testing"

	"picoclaw"
)

// Only the chat's own members may stop its answer: the card's user in a
// direct chat, a sender allowed by the group's policy in a group.
func TestCardStopMembers(t *testing.T) {
	c, err := NewChannel(ChannelConfig{ClientID: "id", ClientSecret: "secret", AllowFrom: []string{"0111", "dingtalk:0222"}})
	if err != nil {
		t.Fatal(err)
	}
	direct := picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0111"}
	group := picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidGROUP=="}
	for _, tc := range []struct {
		chat picoclaw.Peer
		user string
		want bool
	}{
		{direct, "0111", true},
		{direct, "0222", false}, // allowed elsewhere, but not this chat's user
		{group, "0111", true},
		{group, "0222", true},
		{group, "0333", false},
	} {
		if got := c.mayStop(tc.chat, tc.user); got != tc.want {
			t.Errorf("mayStop(%v, %q) = %v, want %v", tc.chat, tc.user, got, tc.want)
		}
	}
}

func TestParseCardCallback(t *testing.T) {
	data := `{"outTrackId":"picoclaw-x","userId":"0111","corpId":"c","type":"actionCallback",` +
		`"content":"{\"cardPrivateData\":{\"actionIds\":[\"stop\"],\"params\":{}}}"}`
	cb, actions, err := parseCardCallback([]byte(data))
	if err != nil || cb.OutTrackID != "picoclaw-x" || cb.UserID != "0111" || len(actions) != 1 || actions[0] != "stop" {
		t.Errorf("parse: %+v %v %v", cb, actions, err)
	}
	if _, _, err := parseCardCallback([]byte(`{"userId":"0111"}`)); err == nil {
		t.Error("a callback without outTrackId parsed")
	}
}
