package sim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Event is one update of the page. The page builds everything it shows
// from the events in order, so a reload (or an EventSource reconnecting
// with Last-Event-ID) catches up by replay.
type Event struct {
	Seq    int64     `json:"seq"`
	Type   string    `json:"type"` // "user", "chat", "msg", "log", "status"
	User   *User     `json:"user,omitempty"`
	Chat   *Chat     `json:"chat,omitempty"`
	Msg    *Msg      `json:"msg,omitempty"`
	Log    *LogEntry `json:"log,omitempty"`
	Status *Status   `json:"status,omitempty"`
}

// LogEntry is a line of the side log.
type LogEntry struct {
	Time  string `json:"time"`
	Level string `json:"level"` // "info", "warn", "error", "fault", "ok"
	Text  string `json:"text"`
}

// Status is the header's state: the stream connection and the faults on.
type Status struct {
	Connected   bool `json:"connected"`
	OpenAPIDown bool `json:"openapiDown"`
}

// hub keeps every event (a sim lives minutes, not months) and wakes the
// streams waiting for the next.
type hub struct {
	mu     sync.Mutex
	events []Event
	wake   chan struct{}
}

func newHub() *hub { return &hub{wake: make(chan struct{})} }

func (h *hub) publish(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e.Seq = int64(len(h.events)) + 1
	h.events = append(h.events, e)
	close(h.wake)
	h.wake = make(chan struct{})
}

func (h *hub) log(level, text string) {
	h.publish(Event{Type: "log", Log: &LogEntry{Time: time.Now().Format("15:04:05.000"), Level: level, Text: text}})
}

// since returns the events after seq and a channel closed at the next.
func (h *hub) since(seq int64) ([]Event, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seq = min(max(seq, 0), int64(len(h.events)))
	return append([]Event(nil), h.events[seq:]...), h.wake
}

// serveEvents streams events as server-sent events until the client
// leaves or done closes, starting after Last-Event-ID (or ?since=).
func (h *hub) serveEvents(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	from := r.Header.Get("Last-Event-ID")
	if from == "" {
		from = r.URL.Query().Get("since")
	}
	seq, _ := strconv.ParseInt(from, 10, 64)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	for {
		evs, wake := h.since(seq)
		for _, e := range evs {
			data, err := json.Marshal(e)
			if err != nil {
				continue
			}
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Type, data); err != nil {
				return
			}
			seq = e.Seq
		}
		fl.Flush()
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		case <-done:
			return
		}
	}
}
