package sim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"picoclaw/dingtalk/dingtalktest"
)

// SendRequest is POST /api/send: a user writes in a chat.
type SendRequest struct {
	Chat string `json:"chat"` // conversation id
	From string `json:"from"` // staff id of a member
	Text string `json:"text"`
	// AtBot puts the bot in the message's @ list: in a group, the only
	// way to get an answer, as in DingTalk.
	AtBot   bool     `json:"atBot"`
	AtUsers []string `json:"atUsers"` // staff ids of other members mentioned
}

// SendResponse tells the page which bubble it made.
type SendResponse struct {
	ID string `json:"id"`
}

// maxText bounds a message from the page (DingTalk's own limit is 5,000
// characters; a little more lets the gateway's limits be tried).
const maxText = 20000

// maxUpload bounds a picture or file from the page.
const maxUpload = 20 << 20

func (s *Sim) handleSend(w http.ResponseWriter, r *http.Request) {
	var req SendRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("send: expected a JSON body {chat, from, text}: %w", err))
		return
	}
	if strings.TrimSpace(req.Text) == "" || len(req.Text) > maxText {
		writeError(w, http.StatusBadRequest, fmt.Errorf("send: text: expected 1 to %d bytes, got %d", maxText, len(req.Text)))
		return
	}
	c, u, err := s.sender(req.Chat, req.From)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	m, err := s.botMessage(c, u, req.AtBot, req.AtUsers)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	m.Text = req.Text
	s.push(w, m, Msg{Chat: c.ID, From: u.StaffID, Nick: u.Nick, Text: req.Text, HTML: plainHTML(req.Text)})
}

// handleUpload takes a multipart form (chat, from, atBot, file) and sends
// the file as DingTalk does: stored behind a download code that the
// gateway resolves through messageFiles/download, in a picture message
// for an image and a file message otherwise.
func (s *Sim) handleUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	f, hdr, err := r.FormFile("file")
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("upload: expected a multipart form with a \"file\" of at most %d MiB: %w", maxUpload>>20, err))
		return
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("upload: read %s: %w", hdr.Filename, err))
		return
	}
	c, u, err := s.sender(r.FormValue("chat"), r.FormValue("from"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	m, err := s.botMessage(c, u, r.FormValue("atBot") == "true", nil)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	ct := hdr.Header.Get("Content-Type")
	if ct == "" || ct == "application/octet-stream" {
		ct = http.DetectContentType(data)
	}
	code := randomCode()
	s.fake.AddFile(code, data, ct)
	s.mu.Lock()
	s.files[code] = file{name: hdr.Filename, contentType: ct, data: data}
	s.mu.Unlock()
	show := Msg{Chat: c.ID, From: u.StaffID, Nick: u.Nick, Text: hdr.Filename}
	var content any
	if strings.HasPrefix(ct, "image/") {
		m.MsgType, show.Image = "picture", "/media/u/"+code
		content = map[string]string{"downloadCode": code, "pictureDownloadCode": randomCode()}
	} else {
		m.MsgType, show.File, show.FileName = "file", "/media/u/"+code, hdr.Filename
		content = map[string]string{"downloadCode": code, "fileName": hdr.Filename, "spaceId": "223573", "fileId": randomCode()[:8]}
	}
	if m.Content, err = json.Marshal(content); err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("upload: encode content: %w", err))
		return
	}
	s.push(w, m, show)
}

// sender checks that from is a member of chat (not the reasoning chat).
func (s *Sim) sender(chatID, from string) (Chat, User, error) {
	c, ok := s.chat(chatID)
	if !ok {
		return Chat{}, User{}, fmt.Errorf("send: chat: expected a conversation id of the sim, got %q", chatID)
	}
	if c.Kind == KindReasoning {
		return Chat{}, User{}, errors.New("send: the reasoning chat is written by the bot only")
	}
	u, ok := s.user(from)
	if !ok || !slices.Contains(c.Members, from) {
		return Chat{}, User{}, fmt.Errorf("send: from: expected the staff id of a member of %q, got %q", c.Title, from)
	}
	return c, u, nil
}

// botMessage is the robot message a user's post becomes.
func (s *Sim) botMessage(c Chat, u User, atBot bool, atUsers []string) (dingtalktest.BotMessage, error) {
	m := dingtalktest.BotMessage{ConversationID: c.ID, SenderStaffID: u.StaffID, SenderNick: u.Nick, InAtList: atBot}
	if c.Kind == KindGroup {
		m.Group, m.ConversationTitle = true, c.Title
	}
	for _, id := range atUsers {
		if !slices.Contains(c.Members, id) {
			return m, fmt.Errorf("send: atUsers: expected staff ids of members of %q, got %q", c.Title, id)
		}
		m.AtUsers = append(m.AtUsers, dingtalktest.AtUser{DingtalkID: "$:LWCP_v1:$SENDER" + id + "==", StaffID: id})
	}
	return m, nil
}

// push sends m down the Stream socket and shows the user's bubble.
func (s *Sim) push(w http.ResponseWriter, m dingtalktest.BotMessage, show Msg) {
	if _, err := s.fake.PushBotMessage(m); err != nil {
		s.hub.log("error", "not sent: the gateway has no Stream connection now (it reconnects by itself; try again in a moment)")
		writeError(w, http.StatusServiceUnavailable, fmt.Errorf("send: %w", err))
		return
	}
	show.ID = s.nextID("u")
	s.hub.publish(Event{Type: "msg", Msg: &show})
	writeJSON(w, http.StatusOK, SendResponse{ID: show.ID})
}

// AddUserRequest is POST /api/users.
type AddUserRequest struct {
	Nick string `json:"nick"`
}

func (s *Sim) handleAddUser(w http.ResponseWriter, r *http.Request) {
	var req AddUserRequest
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req)
	nick, err := checkName("users: nick", req.Nick)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	u := User{StaffID: "sim" + randomCode()[:10], Nick: nick}
	s.addUser(u)
	writeJSON(w, http.StatusOK, u)
}

// AddGroupRequest is POST /api/groups.
type AddGroupRequest struct {
	Title   string   `json:"title"`
	Members []string `json:"members"`
}

func (s *Sim) handleAddGroup(w http.ResponseWriter, r *http.Request) {
	var req AddGroupRequest
	_ = json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req)
	title, err := checkName("groups: title", req.Title)
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	if len(req.Members) < 2 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("groups: members: expected at least 2 users, got %d", len(req.Members)))
		return
	}
	for _, id := range req.Members {
		if _, ok := s.user(id); !ok {
			writeError(w, http.StatusBadRequest, fmt.Errorf("groups: members: %q is not a user of the sim", id))
			return
		}
	}
	writeJSON(w, http.StatusOK, s.addGroup(title, slices.Compact(slices.Clone(req.Members))))
}

// handleMedia serves a user's upload (kind "u", by download code) or a
// file the bot uploaded to media/upload (kind "b", by media id).
func (s *Sim) handleMedia(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	switch r.PathValue("kind") {
	case "u":
		s.mu.Lock()
		f, ok := s.files[id]
		s.mu.Unlock()
		if ok {
			serveFile(w, f.contentType, f.name, f.data)
			return
		}
	case "b":
		for _, up := range s.fake.Uploads() {
			if up.MediaID == id {
				serveFile(w, http.DetectContentType(up.Data), up.FileName, up.Data)
				return
			}
		}
	}
	http.NotFound(w, r)
}

func serveFile(w http.ResponseWriter, ct, name string, data []byte) {
	w.Header().Set("Content-Type", ct)
	// Uploads are the user's own bytes: never let them run as a page here.
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "sandbox")
	if !strings.HasPrefix(ct, "image/") {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	}
	_, _ = w.Write(data)
}

func randomCode() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
