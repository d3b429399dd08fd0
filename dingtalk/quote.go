package dingtalk

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"picoclaw"
	"picoclaw/internal/text"
)

// Bounds on what a quoted message may add to a prompt: the quote is
// written by anyone in the chat, so it is capped like any other input.
const (
	// MaxQuoteRunes caps the quoted text given to the model.
	MaxQuoteRunes = 2000
	// MaxQuotePictures caps the quoted pictures fetched for the model.
	MaxQuotePictures = 4
	// maxQuoteBytes: a repliedMsg larger than this is not decoded at all.
	maxQuoteBytes = 256 << 10
	// maxCardDepth and maxCardNodes bound the walk of a quoted card's
	// element tree.
	maxCardDepth = 12
	maxCardNodes = 2000
	maxNickRunes = 40
)

// quote is the message a user quoted ("replied to") in DingTalk, as far as
// the payload tells it.
type quote struct {
	MsgID      string
	MsgType    string
	SenderID   string
	SenderNick string
	// FromBot says the quoted message is the bot's own (its senderId is
	// the bot's chatbotUserId).
	FromBot bool
	// Text is the readable body, at most MaxQuoteRunes runes; a
	// placeholder such as "[picture]" for media.
	Text string
	// Pictures are the downloadCodes of quoted pictures, at most
	// MaxQuotePictures.
	Pictures []string
}

// repliedMsg is text.repliedMsg (or content.repliedMsg in richText). The
// shapes reported by adapters differ, so every field is decoded loosely:
// content may be an object, a JSON string holding one, or a bare string.
type repliedMsg struct {
	MsgType    flexString      `json:"msgType"`
	MsgID      flexString      `json:"msgId"`
	SenderID   flexString      `json:"senderId"`
	SenderNick flexString      `json:"senderNick"`
	Content    json.RawMessage `json:"content"`
}

// replyFields are the two keys that mark a quote, wherever they sit.
type replyFields struct {
	IsReplyMsg flexBool        `json:"isReplyMsg"`
	RepliedMsg json.RawMessage `json:"repliedMsg"`
}

// flexBool accepts true, "true", 1 and "1"; anything else (never an
// error, so a strange value cannot drop the whole message) is false.
type flexBool bool

func (b *flexBool) UnmarshalJSON(raw []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(raw)), `"`)
	*b = flexBool(s == "true" || s == "1")
	return nil
}

// quote returns the message m quotes, if any: text.repliedMsg for a text
// message, content.repliedMsg for richText (both only with isReplyMsg
// true). A quote whose content cannot be read still counts, with a
// placeholder text, so the model knows the user pointed at something.
func (m *botMessage) Quote() (quote, bool) {
	var raw json.RawMessage
	switch {
	case bool(m.Text.IsReplyMsg) && len(m.Text.RepliedMsg) > 0:
		raw = m.Text.RepliedMsg
	case m.MsgType == msgRichText && len(m.Content) > 0:
		var f replyFields
		if json.Unmarshal(m.Content, &f) != nil || !bool(f.IsReplyMsg) {
			return quote{}, false
		}
		raw = f.RepliedMsg
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return quote{}, false
	}
	if len(raw) > maxQuoteBytes {
		return quote{Text: "[quoted message too large to show]"}, true
	}
	var r repliedMsg
	if err := json.Unmarshal(raw, &r); err != nil {
		return quote{Text: "[quoted message could not be read]"}, true
	}
	q := quote{
		MsgID:      string(r.MsgID),
		MsgType:    string(r.MsgType),
		SenderID:   string(r.SenderID),
		SenderNick: cleanNick(string(r.SenderNick)),
	}
	q.FromBot = q.SenderID != "" && q.SenderID == m.ChatbotUserID
	q.Text, q.Pictures = quoteBody(q.MsgType, r.Content)
	q.Text = text.SnippetRunes(q.Text, MaxQuoteRunes)
	if q.Text == "" {
		q.Text = placeholder(q.MsgType)
	}
	return q, true
}

// quoteBody reads the quoted content by type. Fields seen in the wild:
// text in content.content or content.text (or the content itself as a
// string), markdown in content.text, richText segments as {text} /
// {type:"picture",downloadCode} or {msgType:"text",content} /
// {msgType:"picture",downloadCode}, a picture's content.downloadCode, a
// voice note's content.recognition, a file's content.fileName, and a
// card's element tree in content.cardContent (visible text in "value"),
// else its content.text or content.cardData.cardParamMap's markdown.
func quoteBody(msgType string, raw json.RawMessage) (string, []string) {
	c := decodeLoose(raw)
	obj, _ := c.(map[string]any)
	if s, ok := c.(string); ok {
		return s, nil
	}
	switch msgType {
	case msgPicture:
		if code := str(obj, "downloadCode"); code != "" {
			return "[picture]", []string{code}
		}
		return "[picture]", nil
	case msgRichText:
		return richQuote(obj["richText"])
	case msgAudio:
		if rec := str(obj, "recognition"); rec != "" {
			return "[voice] " + rec, nil
		}
		return "[voice message]", nil
	case msgVideo:
		return "[video]", nil
	case msgFile:
		if name := str(obj, "fileName"); name != "" {
			return "[file: " + cleanNick(name) + "]", nil
		}
		return "[file]", nil
	case "interactiveCard":
		var b strings.Builder
		nodes := 0
		cardText(decodeLoose(anyRaw(obj["cardContent"])), 0, &nodes, &b)
		if b.Len() > 0 {
			return b.String(), nil
		}
		if t := str(obj, "text"); t != "" {
			return t, nil
		}
		// An AI card's own data: its markdown variable.
		data, _ := obj["cardData"].(map[string]any)
		params, _ := data["cardParamMap"].(map[string]any)
		for _, k := range []string{"msgContent", "content", "markdown"} {
			if t := str(params, k); t != "" {
				return t, nil
			}
		}
		return "", nil
	}
	for _, k := range []string{"content", "text", "markdown"} {
		if s := str(obj, k); s != "" {
			return s, nil
		}
	}
	if _, ok := obj["richText"]; ok {
		return richQuote(obj["richText"])
	}
	return "", nil
}

// richQuote joins the text of quoted richText segments and collects their
// pictures.
func richQuote(v any) (string, []string) {
	segs, _ := v.([]any)
	var b strings.Builder
	var pics []string
	for i, s := range segs {
		if i >= maxCardNodes || b.Len() > MaxQuoteRunes*utf8.UTFMax {
			break
		}
		seg, _ := s.(map[string]any)
		kind := str(seg, "msgType")
		if kind == "" {
			kind = str(seg, "type")
		}
		switch kind {
		case "picture":
			b.WriteString("[picture]")
			if code := str(seg, "downloadCode"); code != "" && len(pics) < MaxQuotePictures {
				pics = append(pics, code)
			}
		case "", "text", "emoji":
			t := str(seg, "content")
			if t == "" {
				t = str(seg, "text")
			}
			b.WriteString(t)
		case "at":
			if name := str(seg, "atName"); name != "" {
				b.WriteString("@" + name + " ")
			}
		}
	}
	return b.String(), pics
}

// cardText collects the visible text of a card element tree: "value" of
// nodes that carry text, depth-first, bounded in depth and node count.
func cardText(v any, depth int, nodes *int, b *strings.Builder) {
	if depth > maxCardDepth || *nodes >= maxCardNodes || b.Len() > MaxQuoteRunes*utf8.UTFMax {
		return
	}
	*nodes++
	switch n := v.(type) {
	case []any:
		for _, e := range n {
			cardText(e, depth+1, nodes, b)
		}
	case map[string]any:
		if s, ok := n["value"].(string); ok && strings.TrimSpace(s) != "" {
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			b.WriteString(strings.TrimSpace(s))
		}
		cardText(n["children"], depth+1, nodes, b)
	}
}

// decodeLoose decodes raw as JSON; a string that itself holds a JSON
// object (some payloads double-encode) is decoded once more.
func decodeLoose(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	if s, ok := v.(string); ok {
		t := strings.TrimSpace(s)
		if strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			var inner any
			if json.Unmarshal([]byte(t), &inner) == nil {
				return inner
			}
		}
	}
	return v
}

// anyRaw re-encodes a decoded value so decodeLoose can unwrap a string.
func anyRaw(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return raw
}

func str(obj map[string]any, key string) string {
	if obj == nil {
		return ""
	}
	s, _ := obj[key].(string)
	return s
}

func placeholder(msgType string) string {
	switch msgType {
	case msgPicture:
		return "[picture]"
	case "interactiveCard":
		return "[card]"
	case "":
		return "[message]"
	}
	name := sanitizeName(msgType, "message")
	return "[" + text.Truncate(name, 40) + "]"
}

// cleanNick makes a name fit on one line of a prompt.
func cleanNick(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return text.SnippetRunes(s, maxNickRunes)
}

// Who names the quoted message's author for the model.
func (q quote) Who(m *botMessage) string {
	switch {
	case q.FromBot:
		return "your earlier message"
	case q.SenderNick != "":
		return q.SenderNick
	case q.SenderID != "" && (q.SenderID == m.SenderID || q.SenderID == m.SenderStaffID):
		if nick := cleanNick(m.SenderNick); nick != "" {
			return nick + " (themselves)"
		}
		return "their own message"
	default:
		return "a message"
	}
}

// Context is the quote as prompt text: "Replying to <who>:" and the quoted
// text as a markdown block quote, so the model can tell it apart from what
// the user wrote now.
func (q quote) Context(m *botMessage) string {
	lines := strings.Split(q.Text, "\n")
	var b strings.Builder
	b.WriteString("> Replying to " + q.Who(m) + ":")
	if len(lines) == 1 {
		b.WriteString(" " + lines[0])
	} else {
		for _, l := range lines {
			b.WriteString("\n> " + l)
		}
	}
	return b.String()
}

// withQuote adds what m quotes to an accepted message's text and
// attachments: the quote's context before the user's text, its pictures
// as image attachments fetched like the message's own (after the ack).
func withQuote(m *botMessage, text string, atts []picoclaw.Attachment) (string, []picoclaw.Attachment) {
	q, ok := m.Quote()
	if !ok {
		return text, atts
	}
	ctx := q.Context(m)
	if text == "" {
		text = ctx
	} else {
		text = ctx + "\n\n" + text
	}
	if len(q.Pictures) == 0 {
		return text, atts
	}
	out := make([]picoclaw.Attachment, 0, len(q.Pictures)+len(atts))
	for _, code := range q.Pictures {
		out = append(out, picoclaw.Attachment{Kind: "image", Name: "quoted-image", Ref: code})
	}
	return text, append(out, atts...)
}
