package dingtalk

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"picoclaw"
	"picoclaw/dingtalk/openapi"
)

// The OpenAPI client is what NewSendFileTool and MediaResolver are given.
var (
	_ MediaSender = (*openapi.Client)(nil)
	_ Downloader  = (*openapi.Client)(nil)
)

type upload struct {
	mediaType, fileName string
	data                []byte
}

type sent struct {
	direct []string
	group  string
	msg    openapi.Message
}

type fakeMediaAPI struct {
	mu        sync.Mutex
	uploads   []upload
	sends     []sent
	uploadErr error
	sendErr   error
}

func (f *fakeMediaAPI) UploadMedia(ctx context.Context, mediaType, fileName string, r io.Reader) (string, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.uploads = append(f.uploads, upload{mediaType, fileName, data})
	if f.uploadErr != nil {
		return "", f.uploadErr
	}
	return "@media-" + fileName, nil
}

func (f *fakeMediaAPI) SendDirect(ctx context.Context, staffIDs []string, msg openapi.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends = append(f.sends, sent{direct: staffIDs, msg: msg})
	return f.sendErr
}

func (f *fakeMediaAPI) SendGroup(ctx context.Context, id string, msg openapi.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends = append(f.sends, sent{group: id, msg: msg})
	return f.sendErr
}

func writeFile(t *testing.T, path string, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// originOf is a scope whose turn answers p (none unless ok) and which may
// send anywhere, for the tests that are not about recipients.
func originOf(p picoclaw.Peer, ok bool) picoclaw.SendScope {
	return picoclaw.SendScope{
		Origin:  func(context.Context) (string, picoclaw.Peer, bool) { return ChannelName, p, ok },
		AllowTo: []string{"*"},
	}
}

// TestSecuritySendFileToStranger: without tools.message.allow_to a turn
// sends files to its own chat only.
func TestSecuritySendFileToStranger(t *testing.T) {
	alice := picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "alice"}
	ws := t.TempDir()
	writeFile(t, filepath.Join(ws, "report.pdf"), "%PDF-1.7")
	scope := originOf(alice, true)
	scope.AllowTo = nil
	api := &fakeMediaAPI{}
	tool := NewSendFileTool(api, ws, scope)
	for _, chatID := range []string{"dingtalk:direct:stranger", "dingtalk:group:cidOther=="} {
		_, err := tool.Call(context.Background(), json.RawMessage(`{"path":"report.pdf","chat_id":"`+chatID+`"}`))
		if !errors.Is(err, picoclaw.ErrRecipientNotAllowed) {
			t.Errorf("send to %s: err = %v, want a refusal", chatID, err)
		}
	}
	if len(api.uploads) != 0 || len(api.sends) != 0 {
		t.Fatalf("uploads %v, sends %v after refusals", api.uploads, api.sends)
	}
	if _, err := tool.Call(context.Background(), json.RawMessage(`{"path":"report.pdf"}`)); err != nil || len(api.sends) != 1 {
		t.Fatalf("own chat: err = %v, sends %v", err, api.sends)
	}
}

func TestSendFile(t *testing.T) {
	direct := picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0420297"}
	group := picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidAB+c/d=="}
	tests := []struct {
		name       string
		args       string
		origin     picoclaw.Peer
		wantUpload upload
		wantSent   sent
		wantResult string
	}{
		{
			name:       "image to direct chat",
			args:       `{"path":"out/chart.PNG"}`,
			origin:     direct,
			wantUpload: upload{"image", "chart.PNG", []byte("png-bytes")},
			wantSent:   sent{direct: []string{"0420297"}, msg: openapi.ImageMessage("@media-chart.PNG")},
			wantResult: "sent chart.PNG (9 bytes) to dingtalk:direct:0420297",
		},
		{
			name:       "file to group chat",
			args:       `{"path":"report.pdf"}`,
			origin:     group,
			wantUpload: upload{"file", "report.pdf", []byte("%PDF-1.7")},
			wantSent:   sent{group: "cidAB+c/d==", msg: openapi.FileMessage("@media-report.pdf", "report.pdf", "pdf")},
			wantResult: "sent report.pdf (8 bytes) to dingtalk:group:cidAB+c/d==",
		},
		{
			name:       "chat_id overrides the origin",
			args:       `{"path":"report.pdf","chat_id":"dingtalk:group:cidOther=="}`,
			origin:     direct,
			wantUpload: upload{"file", "report.pdf", []byte("%PDF-1.7")},
			wantSent:   sent{group: "cidOther==", msg: openapi.FileMessage("@media-report.pdf", "report.pdf", "pdf")},
			wantResult: "sent report.pdf (8 bytes) to dingtalk:group:cidOther==",
		},
		{
			name:       "short chat_id, double-encoded arguments",
			args:       `"{\"path\":\"notes\",\"chat_id\":\"direct:0099\"}"`,
			origin:     group,
			wantUpload: upload{"file", "notes", []byte("plain")},
			wantSent:   sent{direct: []string{"0099"}, msg: openapi.FileMessage("@media-notes", "notes", "file")},
			wantResult: "sent notes (5 bytes) to dingtalk:direct:0099",
		},
		{
			name:       "absolute path inside the workspace",
			args:       `{"path":"WS/report.pdf"}`,
			origin:     direct,
			wantUpload: upload{"file", "report.pdf", []byte("%PDF-1.7")},
			wantSent:   sent{direct: []string{"0420297"}, msg: openapi.FileMessage("@media-report.pdf", "report.pdf", "pdf")},
			wantResult: "sent report.pdf (8 bytes) to dingtalk:direct:0420297",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := t.TempDir()
			writeFile(t, filepath.Join(ws, "out", "chart.PNG"), "png-bytes")
			writeFile(t, filepath.Join(ws, "report.pdf"), "%PDF-1.7")
			writeFile(t, filepath.Join(ws, "notes"), "plain")
			api := &fakeMediaAPI{}
			tool := NewSendFileTool(api, ws, originOf(tt.origin, true))
			args := strings.ReplaceAll(tt.args, "WS", filepath.ToSlash(ws))
			got, err := tool.Call(context.Background(), json.RawMessage(args))
			if err != nil {
				t.Fatalf("Call() error = %v", err)
			}
			if got != tt.wantResult {
				t.Errorf("Call() = %q, want %q", got, tt.wantResult)
			}
			if !reflect.DeepEqual(api.uploads, []upload{tt.wantUpload}) {
				t.Errorf("uploads = %+v, want %+v", api.uploads, tt.wantUpload)
			}
			if !reflect.DeepEqual(api.sends, []sent{tt.wantSent}) {
				t.Errorf("sends = %+v, want %+v", api.sends, tt.wantSent)
			}
		})
	}
}

func TestSendFileRefuses(t *testing.T) {
	outside := t.TempDir()
	writeFile(t, filepath.Join(outside, "secret.txt"), "secret")
	direct := picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0420297"}
	tests := []struct {
		name      string
		args      string
		origin    picoclaw.Peer
		noOrigin  bool
		uploadErr error
		sendErr   error
		wantErr   string
		uploads   int
	}{
		{name: "dot-dot escape", args: `{"path":"../secret.txt"}`, wantErr: "outside the workspace"},
		{name: "absolute path outside", args: `{"path":"OUT/secret.txt"}`, wantErr: "outside the workspace"},
		{name: "symlink to outside", args: `{"path":"link.txt"}`, wantErr: "outside the workspace"},
		{name: "symlinked directory to outside", args: `{"path":"linkdir/secret.txt"}`, wantErr: "outside the workspace"},
		{name: "dot-dot escape to a missing file", args: `{"path":"sub/../../nope.txt"}`, wantErr: "outside the workspace"},
		{name: "missing file", args: `{"path":"nope.txt"}`, wantErr: "resolve path"},
		{name: "empty path", args: `{}`, wantErr: "path is required"},
		{name: "directory", args: `{"path":"sub"}`, wantErr: "not a regular file"},
		{name: "empty file", args: `{"path":"empty.txt"}`, wantErr: "is empty"},
		{name: "too large", args: `{"path":"big.bin"}`, wantErr: "over DingTalk's limit of 20.0 MB"},
		{name: "no current chat", args: `{"path":"ok.txt"}`, noOrigin: true, wantErr: "no current DingTalk chat"},
		{name: "bare chat_id", args: `{"path":"ok.txt","chat_id":"0420297"}`, wantErr: "is not"},
		{name: "other channel", args: `{"path":"ok.txt","chat_id":"slack:direct:U1"}`, wantErr: "is not"},
		{name: "external user", args: `{"path":"ok.txt"}`, origin: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "$:LWCP_v1:$abc"}, wantErr: "no staff id"},
		{name: "upload fails", args: `{"path":"ok.txt"}`, uploadErr: errors.New("quota"), wantErr: "upload ok.txt: quota", uploads: 1},
		{name: "send fails", args: `{"path":"ok.txt"}`, sendErr: errors.New("forbidden"), wantErr: "send ok.txt to dingtalk:direct:0420297: forbidden", uploads: 1},
		{name: "not JSON", args: `{path}`, wantErr: "invalid arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := t.TempDir()
			writeFile(t, filepath.Join(filepath.Dir(ws), "secret.txt"), "secret")
			writeFile(t, filepath.Join(ws, "ok.txt"), "fine")
			writeFile(t, filepath.Join(ws, "empty.txt"), "")
			writeFile(t, filepath.Join(ws, "sub", "x"), "x")
			if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(ws, "link.txt")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(ws, "linkdir")); err != nil {
				t.Fatal(err)
			}
			big, err := os.Create(filepath.Join(ws, "big.bin"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { big.Close() })
			if err := big.Truncate(maxSendFileSize + 1); err != nil {
				t.Fatal(err)
			}
			origin := tt.origin
			if origin.ID == "" {
				origin = direct
			}
			api := &fakeMediaAPI{uploadErr: tt.uploadErr, sendErr: tt.sendErr}
			tool := NewSendFileTool(api, ws, originOf(origin, !tt.noOrigin))
			args := strings.ReplaceAll(tt.args, "OUT", filepath.ToSlash(outside))
			got, err := tool.Call(context.Background(), json.RawMessage(args))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Call() = %q, %v; want an error containing %q", got, err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "send_file: ") {
				t.Errorf("error %q does not name the tool", err)
			}
			if len(api.uploads) != tt.uploads {
				t.Errorf("%d uploads, want %d", len(api.uploads), tt.uploads)
			}
			if tt.sendErr == nil && len(api.sends) != 0 {
				t.Errorf("sent %+v after a refusal", api.sends)
			}
		})
	}
}

func TestSendFileDef(t *testing.T) {
	def := NewSendFileTool(&fakeMediaAPI{}, t.TempDir(), picoclaw.SendScope{}).Def()
	var schema struct {
		Properties map[string]any `json:"properties"`
		Required   []string       `json:"required"`
	}
	if err := json.Unmarshal(def.Parameters, &schema); err != nil {
		t.Fatalf("parameters are not JSON: %v", err)
	}
	if def.Name != "send_file" || schema.Properties["path"] == nil || schema.Properties["chat_id"] == nil ||
		!reflect.DeepEqual(schema.Required, []string{"path"}) {
		t.Errorf("Def() = %s %s", def.Name, def.Parameters)
	}
}
