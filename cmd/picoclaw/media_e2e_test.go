package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

// Media end to end: what the model is given for pictures, voice notes and
// files, what an unsupported message gets, and the send_file tool. The
// content shapes follow DingTalk's doc samples of picture, audio, file and
// unknown-type robot messages (open-dingtalk docs, docs/learn/bot/message.md).

// tinyPNG is a real 2×2 PNG.
func tinyPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// lastUser returns the last user message of a model request.
func lastUser(t *testing.T, r providertest.RecordedRequest) providertest.RecordedMessage {
	t.Helper()
	for i := len(r.Messages) - 1; i >= 0; i-- {
		if r.Messages[i].Role == "user" {
			return r.Messages[i]
		}
	}
	t.Fatal("the model request has no user message")
	return providertest.RecordedMessage{}
}

// savedMedia finds the file under <data dir>/media/<chat>/ whose name
// ends in suffix, and returns the name the model is told,
// media/<date>/<file>.
func savedMedia(t *testing.T, dataDir, suffix string) (rel string, data []byte) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(dataDir, "media"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, suffix) {
			return err
		}
		rel = filepath.Join("media", filepath.Base(filepath.Dir(p)), filepath.Base(p))
		data, err = os.ReadFile(p)
		return err
	})
	if err != nil || rel == "" {
		t.Fatalf("no file *%s saved under %s/media (%v)", suffix, dataDir, err)
	}
	return filepath.ToSlash(rel), data
}

func TestMediaToModel(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.SetHandler(llmHandler(released()))
	h.start()
	replies := 0
	// turn pushes m and returns the model request that answered it.
	turn := func(t *testing.T, m dingtalktest.BotMessage) providertest.RecordedRequest {
		t.Helper()
		before := len(h.llm.Requests())
		h.push(m)
		replies++
		h.waitReplies(replies)
		reqs := h.llm.Requests()
		if len(reqs) != before+1 {
			t.Fatalf("%d model requests for one message, want 1", len(reqs)-before)
		}
		return reqs[before]
	}

	t.Run("picture given to the model as an image", func(t *testing.T) {
		pic := tinyPNG(t)
		h.dt.AddFile("pic-download-code", pic, "image/png")
		req := turn(t, dingtalktest.BotMessage{SenderStaffID: alice, MsgType: "picture",
			Content: json.RawMessage(`{"pictureDownloadCode":"pic-picture-code","downloadCode":"pic-download-code"}`)})
		user := lastUser(t, req)
		if len(user.Images) != 1 {
			t.Fatalf("user message has %d images, want 1", len(user.Images))
		}
		data, ok := strings.CutPrefix(user.Images[0], "data:image/png;base64,")
		if got, err := base64.StdEncoding.DecodeString(data); !ok || err != nil || !bytes.Equal(got, pic) {
			t.Errorf("image URL %.40q… is not the picture as a data: URL", user.Images[0])
		}
	})

	t.Run("voice note: the model reads the transcript, marked as voice", func(t *testing.T) {
		req := turn(t, dingtalktest.BotMessage{SenderStaffID: alice, MsgType: "audio",
			Content: json.RawMessage(`{"downloadCode":"voice-code","recognition":"明天早上九点提醒我开会"}`)})
		if got := lastUser(t, req).Content; !strings.Contains(got, "[voice] 明天早上九点提醒我开会") {
			t.Errorf("model saw %q, want the recognition marked as voice", got)
		}
		// The picture, no longer sent, stays in the history as text: an
		// empty user message is refused by the OpenAI API.
		for i, m := range req.Messages {
			if m.Role == "user" && m.Content == "" && len(m.Images) == 0 {
				t.Errorf("history message %d is a user message with no content", i)
			}
		}
	})

	t.Run("file saved under media; the model is told its path and size", func(t *testing.T) {
		pdf := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
		h.dt.AddFile("file-download-code", pdf, "application/pdf")
		req := turn(t, dingtalktest.BotMessage{SenderStaffID: alice, MsgType: "file",
			Content: json.RawMessage(`{"spaceId":"223573","fileName":"report.pdf","downloadCode":"file-download-code","fileId":"117848"}`)})
		rel, data := savedMedia(t, h.dataDir, "-report.pdf")
		if !bytes.Equal(data, pdf) {
			t.Errorf("saved %s holds %d bytes, want the %d sent", rel, len(data), len(pdf))
		}
		got := lastUser(t, req).Content
		if size := fmt.Sprintf("%d bytes", len(pdf)); !strings.Contains(got, rel) || !strings.Contains(got, size) {
			t.Errorf("model saw %q; want the path %s and the size %s", got, rel, size)
		}
	})

	t.Run("unknown message type answered without the model", func(t *testing.T) {
		before := len(h.llm.Requests())
		p := h.push(dingtalktest.BotMessage{SenderStaffID: alice, MsgType: "unknownMsgType",
			Content: json.RawMessage(`{"unknownMsgType":"用户发送了一条消息，机器人暂不支持接收。"}`)})
		replies++
		got := h.waitReplies(replies)[replies-1]
		if got.Session != p.Session || !strings.Contains(got.Text, "not supported") {
			t.Errorf("reply = %q to %q, want a short 'not supported' to the sender", got.Text, got.Session)
		}
		// A later message is the only model call: the unknown one made none.
		h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "after unknown"})
		replies++
		if got := h.waitReplies(replies)[replies-1]; got.Text != "echo: after unknown" {
			t.Errorf("next reply = %q", got.Text)
		}
		if n := len(h.llm.Requests()) - before; n != 1 {
			t.Errorf("%d model requests, want 1 (the unsupported message must not reach the model)", n)
		}
	})
}

// With "vision": false a picture is saved and the model told where.
func TestMediaPictureWithoutVision(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	editConfig(t, h, func(cfg, _ map[string]any) {
		cfg["model_list"].([]any)[0].(map[string]any)["vision"] = false
	})
	h.llm.SetHandler(llmHandler(released()))
	h.start()
	pic := tinyPNG(t)
	h.dt.AddFile("pic-download-code", pic, "image/png")
	h.push(dingtalktest.BotMessage{SenderStaffID: alice, MsgType: "picture",
		Content: json.RawMessage(`{"pictureDownloadCode":"pic-picture-code","downloadCode":"pic-download-code"}`)})
	h.waitReplies(1)
	rel, data := savedMedia(t, h.dataDir, ".png")
	if !bytes.Equal(data, pic) {
		t.Errorf("saved %s is not the picture", rel)
	}
	reqs := h.llm.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d model requests, want 1", len(reqs))
	}
	user := lastUser(t, reqs[0])
	if len(user.Images) != 0 {
		t.Errorf("a model without vision was sent %d images", len(user.Images))
	}
	if !strings.Contains(user.Content, rel) || !strings.Contains(user.Content, "cannot see images") {
		t.Errorf("model saw %q; want the saved path %s and why", user.Content, rel)
	}
}

// The model calls send_file: the file is uploaded and sent as a file
// message to the chat that asked.
func TestSendFileToolDeliversToChat(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	content := []byte("date,total\n2026-01-01,42\n")
	if err := os.MkdirAll(filepath.Join(h.workspace, "out"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.workspace, "out", "report.csv"), content, 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()

	tests := []struct {
		name string
		msg  dingtalktest.BotMessage
		want dingtalktest.OpenAPISend
	}{
		{"private chat", dingtalktest.BotMessage{SenderStaffID: alice, Text: "send me the report"},
			dingtalktest.OpenAPISend{Kind: "direct", UserIDs: []string{alice}}},
		{"group", dingtalktest.BotMessage{Group: true, ConversationID: mixedCaseGroup, SenderStaffID: "group-member-1",
			InAtList: true, Text: "send us the report"},
			dingtalktest.OpenAPISend{Kind: "group", OpenConversationID: mixedCaseGroup}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.llm.Enqueue(
				providertest.Reply{ToolCalls: []picoclaw.ToolCall{{ID: "call_send", Name: "send_file",
					Arguments: json.RawMessage(`{"path":"out/report.csv"}`)}}},
				providertest.Reply{Content: "Here is the report."},
			)
			h.push(tt.msg)
			if got := h.waitReplies(i + 1)[i]; !strings.HasSuffix(got.Text, "Here is the report.") {
				t.Errorf("reply = %q", got.Text)
			}
			up := h.dt.Uploads()
			if len(up) != i+1 || up[i].Type != "file" || up[i].FileName != "report.csv" || !bytes.Equal(up[i].Data, content) {
				t.Fatalf("uploads = %+v; want report.csv as a file", up)
			}
			got := waitSends(t, h.dt, i+1)[i]
			if got.Kind != tt.want.Kind || got.OpenConversationID != tt.want.OpenConversationID ||
				strings.Join(got.UserIDs, ",") != strings.Join(tt.want.UserIDs, ",") {
				t.Errorf("file message went to %s %q %q, want the asking chat", got.Kind, got.OpenConversationID, got.UserIDs)
			}
			if got.MsgKey != "sampleFile" || got.Param["mediaId"] != up[i].MediaID || got.Param["fileName"] != "report.csv" {
				t.Errorf("file message = %s %v; want sampleFile with the uploaded media id", got.MsgKey, got.Param)
			}
		})
	}
}
