package dingtalk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/openapi"
)

func loadBotMessage(t *testing.T, name string) *botMessage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseBotMessage(data)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return m
}

func TestAttachments(t *testing.T) {
	tests := []struct {
		name     string
		fixture  string
		msg      *botMessage
		wantText string
		want     []picoclaw.Attachment
	}{
		{
			name:    "picture uses downloadCode",
			fixture: "bot-picture.json",
			want:    []picoclaw.Attachment{{Kind: "image", Name: "image", Ref: "mIof****JE0E"}},
		},
		{
			name:     "richText text and picture",
			fixture:  "bot-richtext-picture.json",
			wantText: "这个问题示例图如下：通过以上示意图可以明白完整的交互流程",
			want:     []picoclaw.Attachment{{Kind: "image", Name: "image", Ref: "mIof****7A=="}},
		},
		{
			name:     "audio with recognition is text",
			fixture:  "bot-audio.json",
			wantText: "[voice] 钉钉PaaS开放中心，致力为企业……",
		},
		{
			name:    "video",
			fixture: "bot-video.json",
			want:    []picoclaw.Attachment{{Kind: "video", Name: "video.mp4", Ref: "mIof****SaqP", Note: "video, duration 5 s"}},
		},
		{
			name:    "file",
			fixture: "bot-file.json",
			want:    []picoclaw.Attachment{{Kind: "file", Name: "foobar.zip", Ref: "LJYY****bw=="}},
		},
		{
			name:    "unknown msgtype",
			fixture: "bot-unknownMsgType.json",
		},
		{
			name: "audio without recognition is an attachment",
			msg:  &botMessage{MsgID: "m", MsgType: msgAudio, Content: []byte(`{"downloadCode":"dc1","duration":4000}`)},
			want: []picoclaw.Attachment{{Kind: "audio", Name: "voice", Ref: "dc1", Note: "voice message without a transcript, duration 4000 s"}},
		},
		{
			name:     "text",
			msg:      &botMessage{MsgID: "m", MsgType: msgText, Text: textContent{Content: " hello"}},
			wantText: "hello",
		},
		{
			name: "richText drops mention segments, keeps every picture",
			msg: &botMessage{MsgID: "m", MsgType: msgRichText, Content: []byte(`{"richText":[{"text":"@小白 "},` +
				`{"type":"picture","downloadCode":"p1"},{"text":"看看"},{"type":"picture","pictureDownloadCode":"p2"}]}`)},
			wantText: "看看",
			want: []picoclaw.Attachment{
				{Kind: "image", Name: "image", Ref: "p1"},
				{Kind: "image", Name: "image", Ref: "p2"},
			},
		},
		{
			name: "undecodable content",
			msg:  &botMessage{MsgID: "m", MsgType: msgFile, Content: []byte(`"nope"`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.msg
			if tt.fixture != "" {
				m = loadBotMessage(t, tt.fixture)
			}
			text, atts := attachments(m)
			if text != tt.wantText {
				t.Errorf("text = %q, want %q", text, tt.wantText)
			}
			if !reflect.DeepEqual(atts, tt.want) {
				t.Errorf("attachments = %+v, want %+v", atts, tt.want)
			}
		})
	}
}

func TestUnsupported(t *testing.T) {
	tests := []struct {
		name    string
		msg     *botMessage
		want    string
		wantOK  bool
		notWant string
	}{
		{name: "unknown fixture", msg: loadBotMessage(t, "bot-unknownMsgType.json"),
			want: "暂不支持这种消息（unknownMsgType）。This message type is not supported yet.", wantOK: true},
		{name: "picture is supported", msg: loadBotMessage(t, "bot-picture.json")},
		{name: "text is supported", msg: &botMessage{MsgType: msgText}},
		{name: "control characters removed", msg: &botMessage{MsgType: "evil\n\x1b[2Jtype"},
			want: "暂不支持这种消息（evil[2Jtype）。This message type is not supported yet.", wantOK: true},
		{name: "empty msgtype", msg: &botMessage{},
			want: "暂不支持这种消息（unknown）。This message type is not supported yet.", wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := unsupported(tt.msg)
			if ok != tt.wantOK || got != tt.want {
				t.Errorf("Unsupported() = %q, %v; want %q, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("长", 100) + ".pdf" // 304 bytes
	tests := []struct{ in, want string }{
		{"foobar.zip", "foobar.zip"},
		{"../../etc/passwd", "passwd"},
		{"a/b.txt", "b.txt"},
		{`C:\Users\x\report.docx`, "report.docx"},
		{"ev\x00il\nna\u202eme.txt", "evilname.txt"},
		{".bashrc", "bashrc"},
		{"..", "file"},
		{"", "file"},
		{"dir/", "file"},
		{"bad\xffutf8.txt", "badutf8.txt"},
		{long, strings.Repeat("长", 38) + ".pdf"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got := sanitizeName(tt.in, "file")
			if got != tt.want {
				t.Errorf("sanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if len(got) > maxNameBytes {
				t.Errorf("sanitizeName(%q) is %d bytes, over %d", tt.in, len(got), maxNameBytes)
			}
		})
	}
}

type download struct {
	data  []byte
	ctype string
	err   error
}

type fakeDownloader struct {
	mu    sync.Mutex
	files map[string]download
	caps  []int64
}

func (f *fakeDownloader) Download(ctx context.Context, code string, maxBytes int64) ([]byte, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.caps = append(f.caps, maxBytes)
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	d, ok := f.files[code]
	if !ok {
		return nil, "", fmt.Errorf("fake download %s: unknown code", code)
	}
	return d.data, d.ctype, d.err
}

var pngBytes = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)

func newResolver(t *testing.T, vision bool, files map[string]download) (*MediaResolver, string, *fakeDownloader) {
	t.Helper()
	ws := t.TempDir()
	d := &fakeDownloader{files: files}
	return &MediaResolver{
		Downloader: d,
		Dir:        filepath.Join(ws, "media"),
		MaxSize:    1000,
		Vision:     vision,
		now:        func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) },
	}, ws, d
}

func TestResolveImage(t *testing.T) {
	t.Run("vision keeps the image in memory", func(t *testing.T) {
		r, ws, d := newResolver(t, true, map[string]download{"p1": {data: pngBytes, ctype: "application/octet-stream"}})
		in := &picoclaw.Inbound{MessageID: "msg1", Text: "what is this?",
			Attachments: []picoclaw.Attachment{{Kind: "image", Name: "image", Ref: "p1"}}}
		if err := r.Resolve(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		a := in.Attachments[0]
		if !bytes.Equal(a.Data, pngBytes) || a.MIMEType != "image/png" || a.Size != int64(len(pngBytes)) {
			t.Errorf("attachment = {MIME %q, Size %d, %d data bytes}, want image/png with the downloaded bytes", a.MIMEType, a.Size, len(a.Data))
		}
		if a.Path != "" || in.Text != "what is this?" {
			t.Errorf("Path = %q, Text = %q; want nothing saved and text unchanged", a.Path, in.Text)
		}
		if _, err := os.Stat(filepath.Join(ws, "media")); !os.IsNotExist(err) {
			t.Errorf("media dir exists (err %v); a vision image should not be saved", err)
		}
		if !reflect.DeepEqual(d.caps, []int64{1000}) {
			t.Errorf("download caps = %v, want [1000]", d.caps)
		}
	})
	t.Run("no vision saves the image with a note", func(t *testing.T) {
		r, ws, _ := newResolver(t, false, map[string]download{"p1": {data: pngBytes}})
		in := &picoclaw.Inbound{MessageID: "msg+a/b==",
			Attachments: []picoclaw.Attachment{{Kind: "image", Name: "image", Ref: "p1"}}}
		if err := r.Resolve(context.Background(), in); err != nil {
			t.Fatal(err)
		}
		a := in.Attachments[0]
		wantRel := "media/2024-05-06/msg-a_b-image.png"
		if a.Data != nil || a.Path != filepath.Join(ws, filepath.FromSlash(wantRel)) {
			t.Errorf("Path = %q, %d data bytes; want %s saved, no data", a.Path, len(a.Data), wantRel)
		}
		wantNote := "image saved at " + wantRel + ", 72 bytes; this model cannot see images"
		if a.Note != wantNote {
			t.Errorf("Note = %q, want %q", a.Note, wantNote)
		}
		if in.Text != "["+wantNote+"]" {
			t.Errorf("Text = %q, want the bracketed note", in.Text)
		}
		got, err := os.ReadFile(a.Path)
		if err != nil || !bytes.Equal(got, pngBytes) {
			t.Errorf("saved file: %v, equal %v", err, bytes.Equal(got, pngBytes))
		}
	})
}

func TestResolveVisionImageThatIsNotAPicture(t *testing.T) {
	r, _, _ := newResolver(t, true, map[string]download{"p1": {data: []byte("<html>oops</html>"), ctype: "image/png"}})
	in := &picoclaw.Inbound{MessageID: "msg1", Attachments: []picoclaw.Attachment{{Kind: "image", Name: "image", Ref: "p1"}}}
	if err := r.Resolve(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	a := in.Attachments[0]
	want := "image saved at media/2024-05-06/msg1-image, 17 bytes; it is not in a known picture format (text/html; charset=utf-8)"
	if a.Data != nil || a.Note != want {
		t.Errorf("Data %d bytes, Note %q; want no data and note %q", len(a.Data), a.Note, want)
	}
}

func TestResolveFiles(t *testing.T) {
	content := []byte("hello, file\n")
	tests := []struct {
		name     string
		att      picoclaw.Attachment
		wantBase string
	}{
		{"plain", picoclaw.Attachment{Kind: "file", Name: "foobar.zip"}, "msg1-foobar.zip"},
		{"path traversal", picoclaw.Attachment{Kind: "file", Name: "../../etc/passwd"}, "msg1-passwd"},
		{"subdirectory", picoclaw.Attachment{Kind: "file", Name: "a/b.txt"}, "msg1-b.txt"},
		{"control characters", picoclaw.Attachment{Kind: "file", Name: "re\x00port\r\n.txt"}, "msg1-report.txt"},
		{"hidden", picoclaw.Attachment{Kind: "file", Name: "...env"}, "msg1-env"},
		{"no name", picoclaw.Attachment{Kind: "file"}, "msg1-file"},
		{"video", picoclaw.Attachment{Kind: "video", Name: "video.mp4", Note: "video, duration 5 s"}, "msg1-video.mp4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ws, _ := newResolver(t, true, map[string]download{"c": {data: content, ctype: "application/zip"}})
			att := tt.att
			att.Ref = "c"
			in := &picoclaw.Inbound{MessageID: "msg1", Text: "see attached", Attachments: []picoclaw.Attachment{att}}
			if err := r.Resolve(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			a := in.Attachments[0]
			day := filepath.Join(ws, "media", "2024-05-06")
			if a.Path != filepath.Join(day, tt.wantBase) {
				t.Fatalf("Path = %q, want %q", a.Path, filepath.Join(day, tt.wantBase))
			}
			got, err := os.ReadFile(a.Path)
			if err != nil || !bytes.Equal(got, content) {
				t.Errorf("saved content %q, err %v", got, err)
			}
			entries, _ := os.ReadDir(day)
			if len(entries) != 1 {
				t.Errorf("%d files in %s, want 1", len(entries), day)
			}
			if a.Size != int64(len(content)) || a.MIMEType != "application/zip" {
				t.Errorf("Size = %d, MIME = %q", a.Size, a.MIMEType)
			}
			rel := "media/2024-05-06/" + tt.wantBase
			if !strings.Contains(a.Note, "(12 bytes) saved at "+rel+"; use read_file to inspect it") {
				t.Errorf("Note = %q, want it to give size and %s", a.Note, rel)
			}
			if tt.att.Note != "" && !strings.HasPrefix(a.Note, tt.att.Note+"; ") {
				t.Errorf("Note = %q, want it to keep %q", a.Note, tt.att.Note)
			}
			if in.Text != "see attached\n["+a.Note+"]" {
				t.Errorf("Text = %q", in.Text)
			}
		})
	}
}

func TestResolveCollision(t *testing.T) {
	r, ws, _ := newResolver(t, false, map[string]download{"a": {data: []byte("one")}, "b": {data: []byte("two")}, "c": {data: []byte("three")}})
	in := &picoclaw.Inbound{MessageID: "msg1", Attachments: []picoclaw.Attachment{
		{Kind: "file", Name: "x.txt", Ref: "a"}, {Kind: "file", Name: "x.txt", Ref: "b"}, {Kind: "file", Name: "dir/x.txt", Ref: "c"},
	}}
	if err := r.Resolve(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	day := filepath.Join(ws, "media", "2024-05-06")
	want := map[string]string{"msg1-x.txt": "one", "msg1-x-1.txt": "two", "msg1-x-2.txt": "three"}
	for i, a := range in.Attachments {
		name := filepath.Base(a.Path)
		if filepath.Dir(a.Path) != day || want[name] == "" {
			t.Errorf("attachment %d saved at %q, want one of %v in %s", i, a.Path, want, day)
			continue
		}
		if got, _ := os.ReadFile(a.Path); string(got) != want[name] {
			t.Errorf("%s holds %q, want %q", name, got, want[name])
		}
	}
}

func TestResolveFailures(t *testing.T) {
	tests := []struct {
		name     string
		dl       download
		wantNote string
	}{
		{"too large (downloader)", download{err: fmt.Errorf("dingtalk: download: %w", openapi.ErrTooLarge)},
			"file big.iso was too large (limit 1000 bytes) and was not downloaded"},
		{"too large (returned anyway)", download{data: bytes.Repeat([]byte("x"), 1001)},
			"file big.iso was too large (limit 1000 bytes) and was not downloaded"},
		{"download error", download{err: errors.New("boom")},
			"file big.iso could not be fetched from DingTalk; ask the user to send it again if it matters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ws, _ := newResolver(t, false, map[string]download{"bad": tt.dl, "ok": {data: []byte("fine")}})
			in := &picoclaw.Inbound{MessageID: "msg1", Text: "two files", Attachments: []picoclaw.Attachment{
				{Kind: "file", Name: "big.iso", Ref: "bad"}, {Kind: "file", Name: "ok.txt", Ref: "ok"},
			}}
			if err := r.Resolve(context.Background(), in); err != nil {
				t.Fatalf("Resolve() = %v; a failed download must not fail the message", err)
			}
			bad, ok := in.Attachments[0], in.Attachments[1]
			if bad.Note != tt.wantNote || bad.Path != "" {
				t.Errorf("failed attachment: Note %q, Path %q; want note %q and no path", bad.Note, bad.Path, tt.wantNote)
			}
			if ok.Path != filepath.Join(ws, "media", "2024-05-06", "msg1-ok.txt") {
				t.Errorf("second attachment Path = %q; it should still be saved", ok.Path)
			}
			want := "two files\n[" + tt.wantNote + "]\n[" + ok.Note + "]"
			if in.Text != want {
				t.Errorf("Text = %q, want %q", in.Text, want)
			}
		})
	}
}

func TestResolveCanceled(t *testing.T) {
	r, _, _ := newResolver(t, false, map[string]download{"a": {data: []byte("x")}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := &picoclaw.Inbound{MessageID: "msg1", Attachments: []picoclaw.Attachment{{Kind: "file", Name: "a", Ref: "a"}}}
	if err := r.Resolve(ctx, in); !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve() = %v, want context.Canceled", err)
	}
}

func TestResolveKeepsNotesOfUnfetchedAttachments(t *testing.T) {
	r, _, d := newResolver(t, false, nil)
	in := &picoclaw.Inbound{MessageID: "msg1", Attachments: []picoclaw.Attachment{{Kind: "audio", Note: "voice message, transcript only"}}}
	if err := r.Resolve(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if len(d.caps) != 0 || in.Text != "[voice message, transcript only]" {
		t.Errorf("downloads %d, Text %q; want no download and the note in the text", len(d.caps), in.Text)
	}
}

func TestHumanSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0 bytes"}, {1023, "1023 bytes"}, {1024, "1 KB"}, {126000, "124 KB"}, {20 << 20, "20.0 MB"}}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := humanSize(tt.n); got != tt.want {
				t.Errorf("humanSize(%d) = %q, want %q", tt.n, got, tt.want)
			}
		})
	}
}
