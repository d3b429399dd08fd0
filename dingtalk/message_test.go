package dingtalk

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"picoclaw"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseFixture(t *testing.T, name string) *botMessage {
	t.Helper()
	m, err := parseBotMessage(readFixture(t, name))
	if err != nil {
		t.Fatalf("ParseBotMessage(%s): %v", name, err)
	}
	return m
}

func TestParseBotMessageFixtures(t *testing.T) {
	tests := []struct {
		file      string
		msgID     string
		msgType   string
		convType  string
		staffID   string
		plain     string
		createdMs int64
	}{
		{"bot-text-private.json", "msgY****Pw==", msgText, "1", "042***297", "hello DingTalk!", 1695283635765},
		{"bot-text-group-at-logged.json", "msgTEXTxMESSAGExIDx000000==", msgText, "2", "0123456789012345", " 给 发个消息“你好”", 1772376934909},
		{"bot-richtext-mentions-logged.json", "msgRICHxTEXTxMSGxIDx00000==", msgRichText, "2", "0123456789012345", "@小白给@李四发个消息“你12好”", 1772377287698},
		{"bot-richtext-picture.json", "msg4****cg==", msgRichText, "1", "042****297", "这个问题示例图如下：通过以上示意图可以明白完整的交互流程", 1695285740173},
		{"bot-picture.json", "msgg*****fg==", msgPicture, "1", "042***297", "", 1695284179371},
		{"bot-audio.json", "msg8****SA==", msgAudio, "1", "042***297", "钉钉PaaS开放中心，致力为企业……", 1695284999360},
		{"bot-video.json", "msgu****nw==", msgVideo, "1", "042***297", "", 1695284836804},
		{"bot-file.json", "msg2****kg==", msgFile, "1", "042***297", "", 1695285263144},
		{"bot-unknownMsgType.json", "msgN****Uw==", "unknownMsgType", "1", "042***297", "", 1695285449885},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m := parseFixture(t, tt.file)
			if m.MsgID != tt.msgID || m.MsgType != tt.msgType || m.ConversationType != tt.convType || m.SenderStaffID != tt.staffID {
				t.Errorf("got msgId %q msgtype %q conversationType %q senderStaffId %q", m.MsgID, m.MsgType, m.ConversationType, m.SenderStaffID)
			}
			if got := m.PlainText(); got != tt.plain {
				t.Errorf("PlainText() = %q, want %q", got, tt.plain)
			}
			if got := m.Created(); !got.Equal(time.UnixMilli(tt.createdMs)) {
				t.Errorf("Created() = %v", got)
			}
			if !strings.HasPrefix(m.SessionWebhook, "https://oapi.dingtalk.com/robot/sendBySession?session=") {
				t.Errorf("sessionWebhook = %q", m.SessionWebhook)
			}
			if d := m.WebhookExpiry().Sub(m.Created()); d < 80*time.Minute || d > 100*time.Minute {
				t.Errorf("webhook lifetime %v, want about 90 minutes", d)
			}
		})
	}
}

func TestParseBotMessageGroupFields(t *testing.T) {
	m := parseFixture(t, "bot-text-group-at-logged.json")
	if !m.IsGroup() || !m.IsInAtList || !m.IsAdmin {
		t.Errorf("IsGroup %v IsInAtList %v IsAdmin %v, want all true", m.IsGroup(), m.IsInAtList, m.IsAdmin)
	}
	if m.ConversationTitle != "机器人测试" || m.ConversationID != "cidGROUPxCONVERSATIONxID0==" {
		t.Errorf("conversation %q %q", m.ConversationTitle, m.ConversationID)
	}
	want := []atUser{
		{DingtalkID: "$:LWCP_v1:$ATxUSERxDINGTALKxID000==", StaffID: "01234567890123456", UnionID: "UNIONIDxOFxATxUSER0000iEiE"},
		{DingtalkID: "$:LWCP_v1:$BOTxDINGTALKxIDx0000000000000000"},
	}
	if len(m.AtUsers) != len(want) || m.AtUsers[0] != want[0] || m.AtUsers[1] != want[1] {
		t.Errorf("AtUsers = %+v, want %+v", m.AtUsers, want)
	}
	if m.AtUsers[1].DingtalkID != m.ChatbotUserID {
		t.Errorf("the bot's atUsers entry should equal chatbotUserId %q", m.ChatbotUserID)
	}
	if m.RobotCode != "dingplaceholder00000" || m.ChatbotCorpID != m.SenderCorpID || m.SenderNick != "张三" {
		t.Errorf("robotCode %q corp %q/%q nick %q", m.RobotCode, m.ChatbotCorpID, m.SenderCorpID, m.SenderNick)
	}
	chat, ok := m.Chat()
	if !ok || chat != (picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidGROUPxCONVERSATIONxID0=="}) {
		t.Errorf("Chat() = %v, %v", chat, ok)
	}
}

func TestParseBotMessageDirectChat(t *testing.T) {
	m := parseFixture(t, "bot-text-private.json")
	if m.IsGroup() || m.IsInAtList || len(m.AtUsers) != 0 {
		t.Errorf("private chat: IsGroup %v IsInAtList %v atUsers %v", m.IsGroup(), m.IsInAtList, m.AtUsers)
	}
	chat, ok := m.Chat()
	if !ok || chat != (picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "042***297"}) {
		t.Errorf("Chat() = %v, %v", chat, ok)
	}
	m.SenderStaffID = "" // an external user has no staff id
	if chat, _ := m.Chat(); chat.ID != "$:LWC****PA==" {
		t.Errorf("Chat() without staff id = %v, want the senderId", chat)
	}
}

func TestParseBotMessageErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"empty", "", "empty data"},
		{"not json", "<html>", "invalid character"},
		{"wrong type", `{"msgId":"m1","isInAtList":"yes"}`, "isInAtList"},
		{"no msgId", `{"msgtype":"text","text":{"content":"hi"}}`, "missing msgId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseBotMessage([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if !errors.Is(err, picoclaw.ErrBadResponse) {
				t.Errorf("err = %v, want ErrBadResponse", err)
			}
		})
	}
}

func TestParseBotMessageToleratesMissingCreateAtAndUnknownFields(t *testing.T) {
	// The official callback sample misspells createAt as createA.
	data := `{"createA": 1690362101894, "msgId":"m1", "msgtype":"text", "text":{"content":"x","isReplyMsg":true},
		"isForwardMsg":"1", "senderPlatform":"Win", "conversationType":"1"}`
	m, err := parseBotMessage([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if !m.Created().IsZero() || m.CreateAt != 0 {
		t.Errorf("Created() = %v, want zero", m.Created())
	}
	if m.PlainText() != "x" {
		t.Errorf("PlainText() = %q", m.PlainText())
	}
}

func TestContentAccessors(t *testing.T) {
	t.Run("richText", func(t *testing.T) {
		segs, err := parseFixture(t, "bot-richtext-picture.json").RichText()
		if err != nil {
			t.Fatal(err)
		}
		if len(segs) != 3 || segs[0].IsPicture() || !segs[1].IsPicture() || segs[2].IsPicture() {
			t.Fatalf("segments = %+v", segs)
		}
		if segs[1].DownloadCode != "mIof****7A==" || segs[1].PictureDownloadCode != "pWjA****SjIg" {
			t.Errorf("picture segment = %+v", segs[1])
		}
	})
	t.Run("picture", func(t *testing.T) {
		p, err := parseFixture(t, "bot-picture.json").Picture()
		if err != nil || p.DownloadCode != "mIof****JE0E" || p.PictureDownloadCode != "pWjA****ks=" {
			t.Errorf("Picture() = %+v, %v", p, err)
		}
	})
	t.Run("audio", func(t *testing.T) {
		a, err := parseFixture(t, "bot-audio.json").Audio()
		if err != nil || a.DownloadCode != "mIof****7g==" || a.Recognition != "钉钉PaaS开放中心，致力为企业……" {
			t.Errorf("Audio() = %+v, %v", a, err)
		}
	})
	t.Run("video", func(t *testing.T) {
		v, err := parseFixture(t, "bot-video.json").Video()
		if err != nil || v.Duration != "5" || v.VideoType != "mp4" || v.DownloadCode != "mIof****SaqP" {
			t.Errorf("Video() = %+v, %v", v, err)
		}
	})
	t.Run("video duration as number", func(t *testing.T) {
		m := &botMessage{MsgID: "m", MsgType: msgVideo, Content: []byte(`{"downloadCode":"d","duration":12}`)}
		if v, err := m.Video(); err != nil || v.Duration != "12" {
			t.Errorf("Video() = %+v, %v", v, err)
		}
	})
	t.Run("file", func(t *testing.T) {
		f, err := parseFixture(t, "bot-file.json").File()
		if err != nil || f.FileName != "foobar.zip" || f.FileID != "117***848" || f.SpaceID != "223***573" || f.DownloadCode != "LJYY****bw==" {
			t.Errorf("File() = %+v, %v", f, err)
		}
	})
	t.Run("wrong msgtype", func(t *testing.T) {
		_, err := parseFixture(t, "bot-picture.json").File()
		if err == nil || !strings.Contains(err.Error(), `msgtype "picture"`) {
			t.Errorf("File() of a picture: err = %v", err)
		}
	})
	t.Run("missing content", func(t *testing.T) {
		m := &botMessage{MsgID: "m", MsgType: msgFile}
		if _, err := m.File(); err == nil || !strings.Contains(err.Error(), "no content") {
			t.Errorf("File() without content: err = %v", err)
		}
	})
}
