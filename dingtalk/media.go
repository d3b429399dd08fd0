package dingtalk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"picoclaw/internal/text"

	"picoclaw"
	"picoclaw/dingtalk/openapi"
)

// defaultMaxMediaSize caps a download when MediaResolver.MaxSize is zero.
const defaultMaxMediaSize = openapi.DefaultMaxDownload

// maxNameBytes bounds a saved file's sanitised original name.
const maxNameBytes = 120

// attachments returns the text of m and its media as attachments, from the
// payload alone: nothing is downloaded, since this runs before the frame is
// acked. Each attachment's Ref is the downloadCode, which is the code that
// messageFiles/download accepts (pictureDownloadCode is not). An unknown
// msgtype, or content that does not decode, gives "" and no attachments.
func attachments(m *botMessage) (text string, atts []picoclaw.Attachment) {
	switch m.MsgType {
	case msgText:
		return m.PromptText(), nil
	case msgRichText:
		segs, err := m.RichText()
		if err != nil {
			return "", nil
		}
		for _, s := range segs {
			if s.IsPicture() {
				if code := pictureCode(s.DownloadCode, s.PictureDownloadCode); code != "" {
					atts = append(atts, picoclaw.Attachment{Kind: "image", Name: "image", Ref: code})
				}
			}
		}
		return m.PromptText(), atts
	case msgPicture:
		p, err := m.Picture()
		if err != nil {
			return "", nil
		}
		if code := pictureCode(p.DownloadCode, p.PictureDownloadCode); code != "" {
			atts = append(atts, picoclaw.Attachment{Kind: "image", Name: "image", Ref: code})
		}
		return "", atts
	case msgAudio:
		a, err := m.Audio()
		if err != nil {
			return "", nil
		}
		if rec := strings.TrimSpace(m.PromptText()); rec != "" {
			// DingTalk's transcript stands in for the audio itself.
			return "[voice] " + rec, nil
		}
		if a.DownloadCode == "" {
			return "", nil
		}
		att := picoclaw.Attachment{Kind: "audio", Name: "voice", Ref: a.DownloadCode, Note: "voice message without a transcript"}
		if a.Duration != "" {
			att.Note += ", duration " + string(a.Duration) + " s"
		}
		return "", []picoclaw.Attachment{att}
	case msgVideo:
		v, err := m.Video()
		if err != nil || v.DownloadCode == "" {
			return "", nil
		}
		att := picoclaw.Attachment{Kind: "video", Name: "video", Ref: v.DownloadCode}
		if ext := sanitizeName(v.VideoType, ""); ext != "" && !strings.Contains(ext, ".") {
			att.Name += "." + ext
		}
		if v.Duration != "" {
			att.Note = "video, duration " + string(v.Duration) + " s"
		}
		return "", []picoclaw.Attachment{att}
	case msgFile:
		f, err := m.File()
		if err != nil || f.DownloadCode == "" {
			return "", nil
		}
		return "", []picoclaw.Attachment{{Kind: "file", Name: f.FileName, Ref: f.DownloadCode}}
	default:
		return "", nil
	}
}

// pictureCode prefers downloadCode, the one messageFiles/download accepts.
func pictureCode(download, picture string) string {
	if download != "" {
		return download
	}
	return picture
}

// unsupported returns the reply for a message of a type picoclaw cannot
// read; ok is false for the types it handles.
func unsupported(m *botMessage) (reply string, ok bool) {
	switch m.MsgType {
	case msgText, msgRichText, msgPicture, msgAudio, msgVideo, msgFile:
		return "", false
	}
	name := sanitizeName(m.MsgType, "")
	if len(name) > 40 {
		name = text.Truncate(name, 40)
	}
	if name == "" {
		name = "unknown"
	}
	return "暂不支持这种消息（" + name + "）。This message type is not supported yet.", true
}

// Downloader fetches a message file by its downloadCode. Its error wraps
// openapi.ErrTooLarge when the file is larger than maxBytes.
type Downloader interface {
	Download(ctx context.Context, downloadCode string, maxBytes int64) (data []byte, contentType string, err error)
}

// MediaResolver fetches the attachments of an accepted message, after its
// frame was acked, and turns them into something the model can use.
type MediaResolver struct {
	Downloader Downloader
	// ChatDir returns the folder of a chat's received files, in the
	// gateway's data dir, where only that chat's turns can read them (as
	// "media/…", the name the model is told). When nil, files go to Dir.
	ChatDir func(session picoclaw.SessionKey) string
	// Dir is where files are saved when ChatDir is nil.
	Dir string
	// Workspace is what paths under Dir are shown relative to; the parent
	// of Dir when empty.
	Workspace string
	// MaxSize caps each download (agents.defaults.max_media_size);
	// defaultMaxMediaSize when zero.
	MaxSize int64
	// Vision says whether the model accepts images.
	Vision bool
	Logger *slog.Logger
	// now names the day folder a file is saved in; nil means time.Now.
	// Unexported: only this package's tests pin the day, and they cannot
	// run in a synctest bubble because their subtests use t.Run.
	now func() time.Time
}

// Resolve downloads every attachment of in that has a Ref. Images go to
// the model as data when it has vision; everything else is saved under Dir
// with a Note saying where. A failed or refused download becomes a Note,
// never an error: the message is still answered. Every note is appended to
// in.Text as a bracketed line, for text-only models. The only error is the
// context's.
func (r *MediaResolver) Resolve(ctx context.Context, in *picoclaw.Inbound) error {
	var notes []string
	for i := range in.Attachments {
		a := &in.Attachments[i]
		if a.Ref == "" {
			if a.Note != "" {
				notes = append(notes, a.Note)
			}
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dingtalk: resolve media of %s: %w", in.MessageID, err)
		}
		r.resolveOne(ctx, in.SessionKey(), in.MessageID, a)
		if a.Note != "" {
			notes = append(notes, a.Note)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dingtalk: resolve media of %s: %w", in.MessageID, err)
	}
	for _, n := range notes {
		if in.Text != "" {
			in.Text += "\n"
		}
		in.Text += "[" + n + "]"
	}
	return nil
}

func (r *MediaResolver) resolveOne(ctx context.Context, session picoclaw.SessionKey, msgID string, a *picoclaw.Attachment) {
	log := r.logger()
	label := kindLabel(a.Kind)
	name := a.Name
	if name == "" {
		name = a.Kind
	}
	limit := r.maxSize()
	if r.Downloader == nil {
		log.Error("dingtalk: no media downloader configured", "msg_id", msgID)
		a.Note = fmt.Sprintf("%s %s could not be fetched from DingTalk", label, name)
		return
	}
	data, ctype, err := r.Downloader.Download(ctx, a.Ref, limit)
	if err == nil && int64(len(data)) > limit {
		err = openapi.ErrTooLarge
	}
	switch {
	case errors.Is(err, openapi.ErrTooLarge):
		log.Info("dingtalk: attachment too large", "msg_id", msgID, "kind", a.Kind, "limit", limit)
		a.Note = fmt.Sprintf("%s %s was too large (limit %s) and was not downloaded", label, name, humanSize(limit))
		return
	case err != nil:
		log.Warn("dingtalk: download attachment", "msg_id", msgID, "kind", a.Kind, "err", err)
		a.Note = fmt.Sprintf("%s %s could not be fetched from DingTalk; ask the user to send it again if it matters", label, name)
		return
	}
	sniffed := http.DetectContentType(data)
	if ctype == "" || ctype == "application/octet-stream" {
		ctype = sniffed
	}
	a.Size = int64(len(data))
	a.MIMEType = ctype
	if a.Kind == "image" && r.Vision && strings.HasPrefix(sniffed, "image/") {
		// The content sniffed, not the header, decides what the model is told.
		a.MIMEType = sniffed
		a.Data = data
		return
	}
	if !strings.Contains(name, ".") {
		name += extensionFor(sniffed)
	}
	path, rel, err := r.save(session, msgID, name, data)
	if err != nil {
		log.Error("dingtalk: save attachment", "msg_id", msgID, "kind", a.Kind, "err", err)
		a.Note = fmt.Sprintf("%s %s (%s) was downloaded but could not be saved", label, name, humanSize(a.Size))
		return
	}
	a.Path = path
	if a.Kind == "image" {
		why := "this model cannot see images"
		if r.Vision {
			why = "it is not in a known picture format (" + sniffed + ")"
		}
		a.Note = fmt.Sprintf("image saved at %s, %s; %s", filepath.ToSlash(rel), humanSize(a.Size), why)
		return
	}
	note := fmt.Sprintf("%s %s (%s) saved at %s; use read_file to inspect it", label, name, humanSize(a.Size), filepath.ToSlash(rel))
	if a.Note != "" {
		note = a.Note + "; " + note
	}
	a.Note = note
}

// save writes data to <chat folder>/<date>/<msgId>-<name>, adding -1,
// -2… on a collision, and returns its path and the one shown to the
// model: "media/<date>/<file>" in a chat folder, else relative to the
// workspace.
func (r *MediaResolver) save(session picoclaw.SessionKey, msgID, name string, data []byte) (path, rel string, err error) {
	dir := r.Dir
	if r.ChatDir != nil {
		dir = r.ChatDir(session)
	}
	if dir == "" {
		return "", "", errors.New("dingtalk: save media: no media directory configured")
	}
	now := time.Now
	if r.now != nil {
		now = r.now
	}
	day := filepath.Join(dir, now().Format("2006-01-02"))
	if err := os.MkdirAll(day, 0o700); err != nil {
		return "", "", fmt.Errorf("dingtalk: save media: %w", err)
	}
	base := sanitizeMsgID(msgID) + "-" + sanitizeName(name, "file")
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	for n := 0; n < 1000; n++ {
		fn := base
		if n > 0 {
			fn = fmt.Sprintf("%s-%d%s", stem, n, ext)
		}
		p := filepath.Join(day, fn)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", "", fmt.Errorf("dingtalk: save media: %w", err)
		}
		_, werr := f.Write(data)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			_ = os.Remove(p)
			return "", "", fmt.Errorf("dingtalk: save media %s: %w", fn, werr)
		}
		if r.ChatDir != nil {
			// The file tools show the chat's own folder as "media".
			return p, filepath.Join("media", filepath.Base(day), fn), nil
		}
		if rel, err := filepath.Rel(r.workspace(), p); err == nil {
			return p, rel, nil
		}
		return p, p, nil
	}
	return "", "", fmt.Errorf("dingtalk: save media %s: too many files with that name", base)
}

func (r *MediaResolver) workspace() string {
	if r.Workspace != "" {
		return r.Workspace
	}
	return filepath.Dir(filepath.Clean(r.Dir))
}

func (r *MediaResolver) maxSize() int64 {
	if r.MaxSize > 0 {
		return r.MaxSize
	}
	return defaultMaxMediaSize
}

func (r *MediaResolver) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func kindLabel(kind string) string {
	switch kind {
	case "audio":
		return "voice message"
	case "":
		return "file"
	default:
		return kind
	}
}

// extensionFor names the extension of a sniffed type, so that a saved
// picture or voice note opens with the right program.
func extensionFor(ctype string) string {
	switch strings.TrimSpace(strings.SplitN(ctype, ";", 2)[0]) {
	case "image/png":
		return ".png"
	case "image/jpeg":
		return ".jpg"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "image/bmp":
		return ".bmp"
	case "audio/mpeg":
		return ".mp3"
	case "audio/wave":
		return ".wav"
	case "audio/amr":
		return ".amr"
	case "video/mp4":
		return ".mp4"
	default:
		return ""
	}
}

// sanitizeName makes a sender-supplied file name safe to save: the base
// name only (either slash separates), no control or bidi characters, no
// leading dots or spaces, at most maxNameBytes keeping the extension; def
// when nothing is left.
func sanitizeName(name, def string) string {
	name = strings.ToValidUTF8(name, "")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) || (c >= '\u202a' && c <= '\u202e') || (c >= '\u2066' && c <= '\u2069') {
			return -1
		}
		return c
	}, name)
	name = strings.TrimRight(strings.TrimLeft(name, ". \t"), " ")
	if name == "" {
		return def
	}
	if len(name) <= maxNameBytes {
		return name
	}
	ext := filepath.Ext(name)
	if len(ext) > 16 {
		ext = ""
	}
	return text.Truncate(strings.TrimSuffix(name, ext), maxNameBytes-len(ext)) + ext
}

// sanitizeMsgID turns a msgId (base64-like, may hold / + =) into a file
// name prefix.
func sanitizeMsgID(id string) string {
	var b strings.Builder
	for _, c := range id {
		switch {
		case c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-' || c == '_'):
			b.WriteRune(c)
		case c == '+':
			b.WriteByte('-')
		case c == '/':
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	if b.Len() == 0 {
		return "msg"
	}
	return b.String()
}

// humanSize writes a byte count for people and models.
func humanSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%d KB", (n+1<<10-1)>>10)
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
}
