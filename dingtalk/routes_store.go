package dingtalk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"picoclaw"
)

// RoutesFile is the file under ChannelConfig.StateDir that keeps the
// known chats and their session webhooks across restarts.
const RoutesFile = "dingtalk-routes.json"

const routesVersion = 1

// routeRecord is one chat in the routes file. The webhook URL is a
// credential: the file is written 0600.
type routeRecord struct {
	Kind           string `json:"kind"` // "direct" or "group"
	ID             string `json:"id"`
	Webhook        string `json:"webhook,omitempty"`
	ExpiryMS       int64  `json:"expiry_ms,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	SenderStaffID  string `json:"sender_staff_id,omitempty"`
}

type routesDoc struct {
	Version int           `json:"version"`
	Chats   []routeRecord `json:"chats"`
}

// routeStore writes the chat routes to path; saves are serialised so that
// the last snapshot taken is the last written.
type routeStore struct {
	path string
	mu   sync.Mutex
}

// load reads the routes file into t, dropping webhooks already expired.
// A missing file is not an error.
func (s *routeStore) load(t *routes, now time.Time) (int, error) {
	raw, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("dingtalk: load routes: %w", err)
	}
	var doc routesDoc
	if err := json.Unmarshal(raw, &doc); err != nil {
		return 0, fmt.Errorf("dingtalk: load routes from %s: %w", s.path, err)
	}
	if doc.Version != routesVersion {
		return 0, fmt.Errorf("dingtalk: load routes from %s: unknown version %d", s.path, doc.Version)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, rec := range doc.Chats {
		var kind picoclaw.ChatKind
		switch rec.Kind {
		case "direct":
			kind = picoclaw.ChatDirect
		case "group":
			kind = picoclaw.ChatGroup
		default:
			continue
		}
		if rec.ID == "" {
			continue
		}
		r := route{
			chat:           picoclaw.Peer{Kind: kind, ID: rec.ID},
			conversationID: rec.ConversationID,
			senderStaffID:  rec.SenderStaffID,
		}
		if rec.ExpiryMS > 0 && now.Before(time.UnixMilli(rec.ExpiryMS)) {
			r.webhook, r.expiry = rec.Webhook, time.UnixMilli(rec.ExpiryMS)
		}
		t.rememberChatLocked(r, now)
		n++
	}
	return n, nil
}

// save writes every chat route of t atomically: a temporary file in the
// same directory, synced, then renamed over the old one.
func (s *routeStore) save(t *routes) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := routesDoc{Version: routesVersion, Chats: []routeRecord{}}
	for _, r := range t.chats() {
		rec := routeRecord{Kind: r.chat.Kind.String(), ID: r.chat.ID, ConversationID: r.conversationID, SenderStaffID: r.senderStaffID}
		if r.webhook != "" {
			rec.Webhook, rec.ExpiryMS = r.webhook, r.expiry.UnixMilli()
		}
		doc.Chats = append(doc.Chats, rec)
	}
	sort.Slice(doc.Chats, func(i, j int) bool {
		a, b := doc.Chats[i], doc.Chats[j]
		return a.Kind < b.Kind || (a.Kind == b.Kind && a.ID < b.ID)
	})
	raw, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return fmt.Errorf("dingtalk: save routes: %w", err)
	}
	if err := writeFileAtomic(s.path, raw); err != nil {
		return fmt.Errorf("dingtalk: save routes: %w", err)
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
