package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"picoclaw"
	"picoclaw/dingtalk/openapi"
)

// maxSendFileSize is the largest file send_file uploads; DingTalk's media
// upload takes at most 20 MB.
const maxSendFileSize = 20 << 20

// MediaSender is the part of the OpenAPI client that send_file needs.
type MediaSender interface {
	UploadMedia(ctx context.Context, mediaType, fileName string, r io.Reader) (mediaID string, err error)
	SendDirect(ctx context.Context, staffIDs []string, msg openapi.Message) error
	SendGroup(ctx context.Context, openConversationID string, msg openapi.Message) error
}

// isImageExt reports whether a file with extension ext is sent as a
// picture (sampleImageMsg) rather than a file (sampleFile).
func isImageExt(ext string) bool {
	switch ext {
	case "png", "jpg", "jpeg", "gif", "bmp":
		return true
	}
	return false
}

type sendFileTool struct {
	// apis are the bots' OpenAPI clients by channel name: a file goes out
	// as the bot of the chat it is sent to.
	apis      map[string]MediaSender
	workspace string
	scope     picoclaw.SendScope
}

// NewSendFileTool returns the send_file tool, which uploads a file from the
// workspace and sends it to a DingTalk chat: the one the current message
// came from, or the one chat_id names when scope allows it (see
// picoclaw.SendScope: tools.message.allow_to). api is the one bot's,
// named ChannelName; a nil api makes the tool refuse every call.
func NewSendFileTool(api MediaSender, workspace string, scope picoclaw.SendScope) picoclaw.Tool {
	apis := map[string]MediaSender{}
	if api != nil {
		apis[ChannelName] = api
	}
	return NewSendFileToolFor(apis, workspace, scope)
}

// NewSendFileToolFor is NewSendFileTool for several bots: apis holds each
// bot's OpenAPI client by its channel name. A chat_id without a channel
// ("direct:<id>", "group:<id>") names a chat of the current turn's bot.
func NewSendFileToolFor(apis map[string]MediaSender, workspace string, scope picoclaw.SendScope) picoclaw.Tool {
	return &sendFileTool{apis: apis, workspace: workspace, scope: scope}
}

func (t *sendFileTool) Def() picoclaw.ToolDef {
	return picoclaw.ToolDef{
		Name: "send_file",
		Description: "Send a file from the workspace to a DingTalk chat, by default the current one. " +
			"png/jpg/jpeg/gif/bmp go as pictures, anything else as a file attachment; at most 20 MB. " +
			"DingTalk may refuse some file types; if it does, zip the file and send the zip.",
		Parameters: json.RawMessage(`{"type":"object","properties":{` +
			`"path":{"type":"string","description":"Path of the file, relative to the workspace"},` +
			`"chat_id":{"type":"string","description":"Target chat: dingtalk:direct:<user id> or dingtalk:group:<conversation id>; default is the current chat"}},` +
			`"required":["path"]}`),
	}
}

type sendFileArgs struct {
	Path   string `json:"path"`
	ChatID string `json:"chat_id"`
}

func (t *sendFileTool) Call(ctx context.Context, raw json.RawMessage) (string, error) {
	var a sendFileArgs
	if err := decodeToolArgs(raw, &a); err != nil {
		return "", fmt.Errorf(`send_file: invalid arguments: %w; expected a JSON object like {"path": "report.pdf"}`, err)
	}
	if len(t.apis) == 0 {
		return "", errors.New("send_file: sending files is not available in this mode")
	}
	path, err := workspaceFile(t.workspace, a.Path)
	if err != nil {
		return "", fmt.Errorf("send_file: %w", err)
	}
	channel, chat, err := t.target(ctx, a.ChatID)
	if err != nil {
		return "", fmt.Errorf("send_file: %w", err)
	}
	api := t.apis[channel]
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("send_file: open %s: %w", a.Path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("send_file: stat %s: %w", a.Path, err)
	}
	switch {
	case !info.Mode().IsRegular():
		return "", fmt.Errorf("send_file: %s is not a regular file", a.Path)
	case info.Size() == 0:
		return "", fmt.Errorf("send_file: %s is empty", a.Path)
	case info.Size() > maxSendFileSize:
		return "", fmt.Errorf("send_file: %s is %s, over DingTalk's limit of %s; compress or split it", a.Path, humanSize(info.Size()), humanSize(maxSendFileSize))
	}

	name := filepath.Base(path)
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(name), "."))
	mediaType := "file"
	if isImageExt(ext) {
		mediaType = "image"
	}
	// One byte over the cap, so that a file that grew after the size check
	// is refused by the upload rather than cut short.
	mediaID, err := api.UploadMedia(ctx, mediaType, name, io.LimitReader(f, maxSendFileSize+1))
	if err != nil {
		return "", fmt.Errorf("send_file: upload %s: %w", name, err)
	}
	var msg openapi.Message
	if mediaType == "image" {
		// DingTalk accepts a media id where sampleImageMsg wants a URL.
		msg = openapi.ImageMessage(mediaID)
	} else {
		if ext == "" {
			ext = "file"
		}
		msg = openapi.FileMessage(mediaID, name, ext)
	}
	key := picoclaw.NewSessionKey(channel, chat)
	if chat.Kind == picoclaw.ChatGroup {
		err = api.SendGroup(ctx, chat.ID, msg)
	} else {
		err = api.SendDirect(ctx, []string{chat.ID}, msg)
	}
	if err != nil {
		return "", fmt.Errorf("send_file: send %s to %s: %w", name, key, err)
	}
	return fmt.Sprintf("sent %s (%s) to %s", name, humanSize(info.Size()), key), nil
}

// target is the bot (channel) and chat chat_id names, else the chat the
// current message came from.
func (t *sendFileTool) target(ctx context.Context, chatID string) (string, picoclaw.Peer, error) {
	current, own, inChat := t.scope.Current(ctx)
	_, ours := t.apis[current]
	var channel string
	var chat picoclaw.Peer
	if id := strings.TrimSpace(chatID); id != "" {
		ch, c, err := picoclaw.ParseSessionKey(id)
		if _, known := t.apis[ch]; err != nil || !known {
			// "direct:<id>" names a chat of the current bot (or the only one).
			base := t.defaultChannel(current, inChat && ours)
			ch, c, err = picoclaw.ParseSessionKey(base + ":" + id)
			if err != nil {
				return "", c, fmt.Errorf(`chat_id %q is not "%s:direct:<user id>" or "%s:group:<conversation id>"`, chatID, base, base)
			}
		}
		channel, chat = ch, c
	} else {
		if !inChat || !ours || own.ID == "" {
			return "", own, errors.New(`there is no current DingTalk chat: pass chat_id ("dingtalk:direct:<user id>" or "dingtalk:group:<conversation id>")`)
		}
		channel, chat = current, own
	}
	if chat.Kind == picoclaw.ChatDirect && strings.HasPrefix(chat.ID, "$:") {
		// batchSend takes staff ids; a $:LWCP id is a user outside the organisation.
		return "", chat, errors.New("this user has no staff id (not a member of the organisation), so DingTalk's API cannot send them files")
	}
	if err := t.scope.Check(ctx, channel, chat); err != nil {
		return "", chat, err
	}
	return channel, chat, nil
}

// defaultChannel is the bot a chat_id without a channel belongs to: the
// current turn's, else ChannelName, else the only bot.
func (t *sendFileTool) defaultChannel(current string, currentIsOurs bool) string {
	if currentIsOurs {
		return current
	}
	if _, ok := t.apis[ChannelName]; ok || len(t.apis) != 1 {
		return ChannelName
	}
	for name := range t.apis {
		return name
	}
	return ChannelName
}

// workspaceFile resolves p against the workspace and refuses anything that
// ends up outside it once every symlink is followed. The file must exist.
func workspaceFile(workspace, p string) (string, error) {
	if strings.TrimSpace(p) == "" {
		return "", errors.New("path is required")
	}
	root, err := filepath.Abs(workspace)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return "", fmt.Errorf("resolve workspace: %w", err)
	}
	abs := p
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(root, abs)
	}
	abs = filepath.Clean(abs)
	outside := fmt.Errorf("path %q is outside the workspace: only files inside the workspace can be sent", p)
	// Checked before and after following symlinks, so that an escape is
	// refused as such even when its target does not exist.
	if !withinDir(root, abs) {
		return "", outside
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolve path %q: %w", p, err)
	}
	if !withinDir(root, real) {
		return "", outside
	}
	return real, nil
}

// withinDir reports whether p is root or below it; both are absolute and
// clean.
func withinDir(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// decodeToolArgs unmarshals a model's arguments, accepting empty ones and
// an object encoded twice (a JSON string holding it), which some models send.
func decodeToolArgs(raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] == '"' {
		var inner string
		if err := json.Unmarshal(raw, &inner); err == nil {
			raw = bytes.TrimSpace([]byte(inner))
		}
	}
	return json.Unmarshal(raw, v)
}
