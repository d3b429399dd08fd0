package dingtalk

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"picoclaw"
	"picoclaw/internal/fsutil"
)

// routesFile is the file under ChannelConfig.StateDir that keeps the
// known chats and their session webhooks across restarts.
const routesFile = "dingtalk-routes.json"

// routesLogFile, next to routesFile, holds the route changes made since
// routesFile was last written, one JSON routeRecord a line.
const routesLogFile = "dingtalk-routes.log"

const routesVersion = 1

// routesSnapshotDelay is how long route changes only go to the log before
// routesFile is rewritten and the log emptied.
const routesSnapshotDelay = time.Second

// routeRecord is one chat in the routes file or log. The webhook URL is a
// credential: both files are written 0600.
type routeRecord struct {
	Kind           string `json:"kind"` // "direct" or "group"
	ID             string `json:"id"`
	Webhook        string `json:"webhook,omitempty"`
	ExpiryMS       int64  `json:"expiry_ms,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	SenderStaffID  string `json:"sender_staff_id,omitempty"`
}

func recordOf(r route) routeRecord {
	rec := routeRecord{Kind: r.chat.Kind.String(), ID: r.chat.ID, ConversationID: r.conversationID, SenderStaffID: r.senderStaffID}
	if r.webhook != "" {
		rec.Webhook, rec.ExpiryMS = r.webhook, r.expiry.UnixMilli()
	}
	return rec
}

// route turns rec back into a chat route, without a webhook already
// expired at now; ok is false for a record that names no chat.
func (rec routeRecord) route(now time.Time) (r route, ok bool) {
	var kind picoclaw.ChatKind
	if err := kind.UnmarshalText([]byte(rec.Kind)); err != nil || kind == 0 {
		return route{}, false
	}
	if rec.ID == "" {
		return route{}, false
	}
	r = route{chat: picoclaw.Peer{Kind: kind, ID: rec.ID}, conversationID: rec.ConversationID, senderStaffID: rec.SenderStaffID}
	if rec.ExpiryMS > 0 && now.Before(time.UnixMilli(rec.ExpiryMS)) {
		r.webhook, r.expiry = rec.Webhook, time.UnixMilli(rec.ExpiryMS)
	}
	return r, true
}

type routesDoc struct {
	Version int           `json:"version"`
	Chats   []routeRecord `json:"chats"`
}

// routeStore keeps the chat routes of t across restarts in two files: a
// snapshot (routesFile) and a log of the changes since (routesLogFile).
//
// A message's route is appended to the log before its frame is acked,
// with a plain write and no fsync: one small write instead of rewriting
// every chat. The page cache keeps it through a kill -9; a power cut may
// lose the last changes, which only sends those chats' answers by OpenAPI.
// At most routesSnapshotDelay after a change, and when the channel stops,
// the snapshot is rewritten atomically and the log emptied.
type routeStore struct {
	path, logPath string
	t             *routes
	delay         time.Duration
	log           *slog.Logger
	// writeFile writes the snapshot (fsutil.WriteFileAtomic; tests block it).
	writeFile func(path string, data []byte, perm os.FileMode) error

	// saveMu serialises snapshots. It is held while one is written to
	// disk (fsync included); record never takes it.
	saveMu sync.Mutex

	// mu guards the log and the state below. It is never held across an
	// fsync: a snapshot copies the routes under it and writes them
	// outside it, so the ack path (record) never waits for a disk sync.
	mu    sync.Mutex
	lf    *os.File // the log, open for appending; nil until needed
	buf   bytes.Buffer
	enc   *json.Encoder
	dirty bool // the log holds changes the snapshot lacks
	timer *time.Timer
	// saving is set while a snapshot is written; later holds the lines
	// logged meanwhile, which that snapshot may lack: they are written
	// back to the emptied log.
	saving bool
	later  []byte
	saves  int // snapshots written, for tests
}

func newRouteStore(dir string, t *routes, log *slog.Logger) *routeStore {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &routeStore{path: filepath.Join(dir, routesFile), logPath: filepath.Join(dir, routesLogFile),
		t: t, delay: routesSnapshotDelay, log: log, writeFile: fsutil.WriteFileAtomic}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false)
	return s
}

// load reads the snapshot, then the log, into s.t, dropping webhooks
// already expired, and returns the number of chats known. Missing files
// are not an error; a corrupt snapshot is (and the log is not read), a
// corrupt log line is skipped.
func (s *routeStore) load(now time.Time) (int, error) {
	raw, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return 0, fmt.Errorf("dingtalk: load routes: %w", err)
	default:
		var doc routesDoc
		if err := json.Unmarshal(raw, &doc); err != nil {
			return 0, fmt.Errorf("dingtalk: load routes from %s: %w", s.path, err)
		}
		if doc.Version != routesVersion {
			return 0, fmt.Errorf("dingtalk: load routes from %s: unknown version %d", s.path, doc.Version)
		}
		s.apply(doc.Chats, now)
	}
	recs, bad, err := readRouteLog(s.logPath)
	if err != nil {
		return 0, fmt.Errorf("dingtalk: load routes: %w", err)
	}
	if bad > 0 {
		s.log.Warn("dingtalk: skipped corrupt lines of the routes log", "lines", bad)
	}
	s.apply(recs, now)
	if len(recs) > 0 {
		s.dirty = true // fold them into the snapshot at the next flush
	}
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	return len(s.t.byChat), nil
}

func (s *routeStore) apply(recs []routeRecord, now time.Time) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	for _, rec := range recs {
		if r, ok := rec.route(now); ok {
			s.t.rememberChatLocked(r, now)
		}
	}
}

// readRouteLog returns the records of the log at path and the number of
// lines that were not one (a torn last line, say).
func readRouteLog(path string) (recs []routeRecord, bad int, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var rec routeRecord
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			if json.Unmarshal(line, &rec) != nil {
				bad++
				continue
			}
			recs = append(recs, rec)
		}
	}
	if err := sc.Err(); err != nil {
		return recs, bad, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	return recs, bad, nil
}

// writeSnapshot writes chats atomically: a temporary file in the same
// directory, synced, renamed over the old one, and the directory synced.
// It holds no lock of s but saveMu, which the caller holds.
func (s *routeStore) writeSnapshot(chats []route) error {
	doc := routesDoc{Version: routesVersion, Chats: make([]routeRecord, 0, len(chats))}
	for _, r := range chats {
		doc.Chats = append(doc.Chats, recordOf(r))
	}
	sort.Slice(doc.Chats, func(i, j int) bool {
		a, b := doc.Chats[i], doc.Chats[j]
		return a.Kind < b.Kind || (a.Kind == b.Kind && a.ID < b.ID)
	})
	raw, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return fmt.Errorf("dingtalk: save routes: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("dingtalk: save routes: %w", err)
	}
	// A failed directory sync is an error here: the log is emptied next,
	// so the new snapshot must outlive a power cut.
	if err := s.writeFile(s.path, raw, 0o600); err != nil {
		return fmt.Errorf("dingtalk: save routes: %w", err)
	}
	return nil
}
