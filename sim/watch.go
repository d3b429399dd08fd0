package sim

import (
	"context"
	"fmt"
	"strings"

	"picoclaw/dingtalk/dingtalktest"
)

// cardKey is the card variable the gateway streams the answer into
// (dingtalk.CardContentKey; not imported, so that the sim depends on the
// fake alone).
const cardKey = "msgContent"

// seen is how far Watch has read each of the fake's records.
type seen struct {
	replies, sends, cards, updates, requests, hooks, opens, downloads int
	conns                                                             map[int]bool // by number: open as last seen
	cardMsg                                                           map[string]Msg
}

// Watch shows what the gateway does through the fake until ctx ends:
// each change the fake records becomes bubbles and side-log lines.
func (s *Sim) Watch(ctx context.Context) {
	st := &seen{conns: map[int]bool{}, cardMsg: map[string]Msg{}}
	for {
		changed := s.fake.Changes()
		s.scan(st)
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

func (s *Sim) scan(st *seen) {
	s.scanConnections(st)
	hooks := s.fake.WebhookCalls()
	for _, h := range hooks[st.hooks:] {
		switch {
		case h.Fault != 0:
			s.hub.log("error", "session webhook → "+h.Fault.String())
		case h.Errcode == dingtalktest.ErrcodeSessionMissing:
			s.hub.log("warn", "session webhook → errcode 300001 (session expired): the gateway must fall back to the OpenAPI")
		case h.Errcode != 0:
			s.hub.log("warn", fmt.Sprintf("session webhook → errcode %d", h.Errcode))
		}
	}
	st.hooks = len(hooks)
	reps := s.fake.Replies()
	for _, r := range reps[st.replies:] {
		s.hub.log("ok", fmt.Sprintf("session webhook → delivered (%s, %d chars)", r.MsgType, len([]rune(r.Text))))
		s.botMsg(r.ConversationID, r.MsgType, s.mentions(r.Text, r.AtUserIDs), "webhook")
	}
	st.replies = len(reps)
	reqs := s.fake.OpenAPIRequests()
	for _, r := range reqs[st.requests:] {
		level := "info"
		if r.Status < 200 || r.Status > 299 {
			level = "error"
		}
		s.hub.log(level, fmt.Sprintf("OpenAPI %s → HTTP %d", apiName(r.Path), r.Status))
	}
	st.requests = len(reqs)
	downs := s.fake.FileDownloads()
	for range downs[st.downloads:] {
		s.hub.log("ok", "the gateway downloaded the file from storage")
	}
	st.downloads = len(downs)
	sends := s.fake.OpenAPISends()
	for _, m := range sends[st.sends:] {
		s.openAPIMsg(m)
	}
	st.sends = len(sends)
	s.scanCards(st)
}

// scanConnections logs the stream's opens and sockets coming and going.
func (s *Sim) scanConnections(st *seen) {
	opens := s.fake.OpenRequests()
	for _, o := range opens[st.opens:] {
		level := "info"
		if o.Status != 200 {
			level = "error"
		}
		s.hub.log(level, fmt.Sprintf("Stream connections/open → HTTP %d", o.Status))
	}
	st.opens = len(opens)
	open := 0
	for _, c := range s.fake.Connections() {
		was, known := st.conns[c.Number]
		switch {
		case !known && c.Open:
			s.hub.log("ok", fmt.Sprintf("Stream socket #%d connected", c.Number))
		case (!known || was) && !c.Open:
			s.hub.log("warn", fmt.Sprintf("Stream socket #%d closed (close code %d)", c.Number, c.CloseCode))
		}
		st.conns[c.Number] = c.Open
		if c.Open {
			open++
		}
	}
	s.mu.Lock()
	changed := (open > 0) != (s.conns > 0)
	s.conns = open
	s.mu.Unlock()
	if changed {
		s.publishStatus()
	}
}

// openAPIMsg shows a message sent by batchSend or groupMessages/send.
func (s *Sim) openAPIMsg(m dingtalktest.OpenAPISend) {
	chat := m.OpenConversationID
	if m.Kind == "direct" && len(m.UserIDs) > 0 {
		chat = directChatID(m.UserIDs[0])
	}
	param := func(k string) string { v, _ := m.Param[k].(string); return v }
	switch m.MsgKey {
	case "sampleImageMsg":
		s.publishBot(Msg{Chat: chat, Image: "/media/b/" + param("photoURL"), Via: "openapi"})
	case "sampleFile":
		s.publishBot(Msg{Chat: chat, File: "/media/b/" + param("mediaId"), FileName: param("fileName"), Text: param("fileName"), Via: "openapi"})
	case "sampleText":
		s.botMsg(chat, "text", m.Text, "openapi")
	default:
		s.botMsg(chat, "markdown", m.Text, "openapi")
	}
}

// scanCards shows new cards and fills them in as they stream.
func (s *Sim) scanCards(st *seen) {
	cards := s.fake.CardsCreated()
	for _, c := range cards[st.cards:] {
		space, id, _ := strings.Cut(strings.TrimPrefix(c.OpenSpaceID, "dtv1.card//"), ".")
		chat := id
		if space == "IM_ROBOT" {
			chat = directChatID(id)
		}
		m := Msg{ID: s.nextID("c"), Chat: chat, From: BotID, Nick: BotNick, Card: true, Via: "card"}
		st.cardMsg[c.OutTrackID] = m
		s.hub.log("info", "AI card created (template "+c.TemplateID+")")
		s.hub.publish(Event{Type: "msg", Msg: &m})
	}
	st.cards = len(cards)
	ups := s.fake.CardUpdates()
	touched := map[string]bool{}
	for _, u := range ups[st.updates:] {
		touched[u.OutTrackID] = true
	}
	st.updates = len(ups)
	for track := range touched {
		m, ok := st.cardMsg[track]
		if !ok {
			continue
		}
		m.Text, m.Done = s.fake.CardContent(track, cardKey)
		m.HTML = Markdown(m.Text)
		st.cardMsg[track] = m
		if m.Done {
			s.hub.log("ok", "AI card finished streaming")
		}
		s.hub.publish(Event{Type: "msg", Msg: &m})
	}
}

// mentions shows "@<staffId>" of the mentioned as "@<nick>", as
// DingTalk's clients do for the ids in a message's atUserIds.
func (s *Sim) mentions(text string, ids []string) string {
	for _, id := range ids {
		if u, ok := s.user(id); ok {
			text = strings.ReplaceAll(text, "@"+id, "@"+u.Nick)
		}
	}
	return text
}

// apiName says what an OpenAPI path is for.
func apiName(path string) string {
	name := map[string]string{
		dingtalktest.TokenPath:         "access token",
		dingtalktest.BatchSendPath:     "robot message to a user (batchSend)",
		dingtalktest.GroupSendPath:     "robot message to a group (groupMessages/send)",
		dingtalktest.DownloadPath:      "file download link (messageFiles/download)",
		dingtalktest.UploadPath:        "media upload",
		dingtalktest.EmotionReplyPath:  "🤔 reaction on the message",
		dingtalktest.EmotionRecallPath: "🤔 reaction removed",
		dingtalktest.CardCreatePath:    "AI card create",
		dingtalktest.CardStreamingPath: "AI card update",
	}[path]
	if name == "" {
		return path
	}
	return name
}

// botMsg shows a text or markdown message of the bot.
func (s *Sim) botMsg(chat, msgType, text, via string) {
	html := Markdown(text)
	if msgType == "text" {
		html = plainHTML(text)
	}
	s.publishBot(Msg{Chat: chat, Text: text, HTML: html, Via: via})
}

func (s *Sim) publishBot(m Msg) {
	m.ID, m.From, m.Nick = s.nextID("b"), BotID, BotNick
	if _, ok := s.chat(m.Chat); !ok {
		// A chat the sim does not know (a send_message to some other
		// conversation): shown anyway, so that nothing sent is hidden.
		s.addChat(Chat{ID: m.Chat, Kind: KindGroup, Title: m.Chat})
	}
	s.hub.publish(Event{Type: "msg", Msg: &m})
}

func (s *Sim) publishStatus() {
	s.mu.Lock()
	st := Status{Connected: s.conns > 0, OpenAPIDown: s.apiDown}
	s.mu.Unlock()
	s.hub.publish(Event{Type: "status", Status: &st})
}
