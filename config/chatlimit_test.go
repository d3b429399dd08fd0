package config

import (
	"strings"
	"testing"
)

func TestDingTalkChatLimit(t *testing.T) {
	tests := []struct {
		name              string
		src               string
		env               map[string]string
		wantLimit, wantWS int
		wantErr           string // in the error; "" for none
	}{
		{"unset: the channel's defaults", `{}`, nil, 0, 0, ""},
		{"from the file", `{"channels":{"dingtalk":{"chat_limit":5,"chat_window_seconds":1}}}`, nil, 5, 1, ""},
		{"from the environment", `{}`, map[string]string{"PICOCLAW_CHANNELS_DINGTALK_CHAT_LIMIT": "7"}, 7, 0, ""},
		{"negative limit", `{"channels":{"dingtalk":{"chat_limit":-1}}}`, nil, 0, 0, "channels.dingtalk.chat_limit"},
		{"negative window", `{"channels":{"dingtalk":{"chat_window_seconds":-1}}}`, nil, 0, 0, "channels.dingtalk.chat_window_seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, _, err := Parse([]byte(tt.src), envFrom(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dt := cfg.Channels.DingTalk; dt.ChatLimit != tt.wantLimit || dt.ChatWindowSeconds != tt.wantWS {
				t.Errorf("chat_limit %d, chat_window_seconds %d; want %d, %d", dt.ChatLimit, dt.ChatWindowSeconds, tt.wantLimit, tt.wantWS)
			}
		})
	}
}
