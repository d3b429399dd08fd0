package sim

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"

	"picoclaw/dingtalk/dingtalktest"
)

//go:embed assets
var assets embed.FS

// Config is what a Sim shows and drives.
type Config struct {
	// Fake is the DingTalk the gateway is connected to.
	Fake *dingtalktest.Server
	// Model is the header's model label, e.g. "echo model: not an AI".
	Model string
	// Echo marks the model as the echo one: the page says so loudly.
	Echo bool
	// ReasoningChat is the gateway's reasoning_channel_id, shown as a
	// chat of its own; "" when none is set.
	ReasoningChat string
	// CardTemplate is the gateway's card_template_id, "" when none.
	CardTemplate string
	Logger       *slog.Logger
}

// Sim is the chat page and its state. Make one with New, serve Handler,
// and run Watch.
type Sim struct {
	cfg  Config
	fake *dingtalktest.Server
	hub  *hub
	log  *slog.Logger
	done chan struct{}

	mu      sync.Mutex
	closed  bool
	users   []User
	chats   []Chat
	byID    map[string]*Chat // by conversation id, into chats
	groups  int
	files   map[string]file // uploads by the users, by download code
	seq     int             // message ids
	apiDown bool
	conns   int // open stream connections
}

type file struct {
	name, contentType string
	data              []byte
}

// New makes a sim with the preset users and groups.
func New(cfg Config) (*Sim, error) {
	if cfg.Fake == nil {
		return nil, errors.New("sim: Config.Fake: expected a fake DingTalk, got nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sim{cfg: cfg, fake: cfg.Fake, hub: newHub(), log: cfg.Logger, done: make(chan struct{}),
		byID: map[string]*Chat{}, files: map[string]file{}}
	for _, u := range presetUsers {
		s.addUser(u)
	}
	for _, g := range presetGroups {
		members := make([]string, len(g.members))
		for i, m := range g.members {
			members[i] = presetUsers[m].StaffID
		}
		s.addGroup(g.title, members)
	}
	if cfg.ReasoningChat != "" {
		s.addChat(Chat{ID: cfg.ReasoningChat, Kind: KindReasoning, Title: "Reasoning"})
	}
	return s, nil
}

// Close ends the event streams, so that the HTTP server can shut down.
func (s *Sim) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
}

// Handler serves the page and its API.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /api/info", s.handleInfo)
	mux.HandleFunc("GET /api/events", func(w http.ResponseWriter, r *http.Request) { s.hub.serveEvents(w, r, s.done) })
	mux.HandleFunc("POST /api/send", s.handleSend)
	mux.HandleFunc("POST /api/upload", s.handleUpload)
	mux.HandleFunc("POST /api/users", s.handleAddUser)
	mux.HandleFunc("POST /api/groups", s.handleAddGroup)
	mux.HandleFunc("POST /api/fault", s.handleFault)
	mux.HandleFunc("GET /media/{kind}/{id}", s.handleMedia)
	return guard(mux)
}

// Info is the header's static part.
type Info struct {
	Model        string `json:"model"`
	Echo         bool   `json:"echo"`
	CardTemplate string `json:"cardTemplate,omitempty"`
	BotNick      string `json:"botNick"`
}

// BotNick is the bot's name in the chats.
const BotNick = "PicoClaw"

func (s *Sim) handleInfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Info{Model: s.cfg.Model, Echo: s.cfg.Echo, CardTemplate: s.cfg.CardTemplate, BotNick: BotNick})
}

func (s *Sim) addUser(u User) {
	s.mu.Lock()
	s.users = append(s.users, u)
	s.mu.Unlock()
	s.hub.publish(Event{Type: "user", User: &u})
	s.addChat(Chat{ID: directChatID(u.StaffID), Kind: KindDirect, Title: u.Nick, Members: []string{u.StaffID}})
}

func (s *Sim) addGroup(title string, members []string) Chat {
	s.mu.Lock()
	s.groups++
	c := Chat{ID: groupChatID(s.groups), Kind: KindGroup, Title: title, Members: members}
	s.mu.Unlock()
	s.addChat(c)
	return c
}

func (s *Sim) addChat(c Chat) {
	s.mu.Lock()
	s.chats = append(s.chats, c)
	s.byID = map[string]*Chat{}
	for i := range s.chats {
		s.byID[s.chats[i].ID] = &s.chats[i]
	}
	s.mu.Unlock()
	s.hub.publish(Event{Type: "chat", Chat: &c})
}

// chat returns a copy of the chat with conversation id id.
func (s *Sim) chat(id string) (Chat, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.byID[id]
	if !ok {
		return Chat{}, false
	}
	return *c, true
}

// user returns the user with staff id id.
func (s *Sim) user(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.StaffID == id {
			return u, true
		}
	}
	return User{}, false
}

// nextID numbers messages for the page.
func (s *Sim) nextID(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("%s%d", prefix, s.seq)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers a refused API call: {"error": "..."}.
func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
