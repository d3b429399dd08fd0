package dingtalk

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
)

// directRoute is a direct chat's route with a webhook that lives ttl.
func directRoute(id, session string, now time.Time, ttl time.Duration) route {
	return route{webhook: "https://oapi.dingtalk.com/robot/sendBySession?session=" + session,
		expiry: now.Add(ttl).Truncate(time.Millisecond), chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: id}}
}

// remember records r in s as the channel does: in memory, then in the log.
func remember(t *testing.T, s *routeStore, r route, now time.Time) {
	t.Helper()
	s.t.remember("msg-"+r.chat.ID, r, now)
	if err := s.record(r); err != nil {
		t.Fatal(err)
	}
}

// loadRoutes reads dir as a restarted channel would.
func loadRoutes(t *testing.T, dir string, now time.Time) *routes {
	t.Helper()
	rt := newRoutes()
	if _, err := newRouteStore(dir, rt, nil).load(now); err != nil {
		t.Fatal(err)
	}
	return rt
}

func fileLines(t *testing.T, path string) int {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(raw, []byte("\n"))
}

// A route is on disk (in the page cache) once record returns: a restart
// after kill -9, with no snapshot written, still knows it.
func TestRoutesLogSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	s := newRouteStore(dir, newRoutes(), nil)
	t.Cleanup(func() { s.close() })
	remember(t, s, directRoute("0123", "old", now, time.Hour), now)
	if err := s.flush(); err != nil {
		t.Fatal(err)
	}
	remember(t, s, directRoute("0123", "new", now, 2*time.Hour), now) // newer webhook, log only
	remember(t, s, directRoute("0456", "other", now, time.Hour), now)

	got := loadRoutes(t, dir, now)
	r, ok := got.chat(picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"})
	if !ok || !strings.HasSuffix(r.webhook, "=new") {
		t.Errorf("chat 0123 after restart: %+v, %v; want the logged webhook", r, ok)
	}
	if _, ok := got.chat(picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0456"}); !ok {
		t.Error("chat 0456, only in the log, was lost")
	}
	if info, err := os.Stat(filepath.Join(dir, routesLogFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("routes log: %v, %v; want mode 0600", info, err)
	}
}

func TestRoutesStoreSnapshotsAfterDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		now := time.Now()
		s := newRouteStore(dir, newRoutes(), nil)
		for i := range 50 {
			remember(t, s, directRoute("chat"+string(rune('A'+i%26))+string(rune('a'+i/26)), "s", now, time.Hour), now)
		}
		synctest.Wait()
		if _, err := os.Stat(filepath.Join(dir, routesFile)); !os.IsNotExist(err) {
			t.Fatalf("snapshot written before the delay: %v", err)
		}
		if n := fileLines(t, filepath.Join(dir, routesLogFile)); n != 50 {
			t.Fatalf("log has %d lines, want 50", n)
		}
		time.Sleep(s.delay)
		synctest.Wait()
		s.mu.Lock()
		saves := s.saves
		s.mu.Unlock()
		if saves != 1 {
			t.Errorf("%d snapshots for 50 changes within the delay, want 1", saves)
		}
		if n := fileLines(t, filepath.Join(dir, routesLogFile)); n != 0 {
			t.Errorf("log has %d lines after the snapshot, want 0", n)
		}
		if n := len(loadRoutes(t, dir, now).chats()); n != 50 {
			t.Errorf("snapshot holds %d chats, want 50", n)
		}
		if err := s.close(); err != nil {
			t.Fatal(err)
		}
		if s.saves != 1 {
			t.Errorf("%d snapshots after closing unchanged, want 1", s.saves)
		}
	})
}

func TestRoutesStoreFailedSnapshotKeepsLog(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	// A directory where the snapshot goes makes its rename fail.
	blocker := filepath.Join(dir, routesFile)
	if err := os.Mkdir(blocker, 0o700); err != nil {
		t.Fatal(err)
	}
	s := newRouteStore(dir, newRoutes(), nil)
	t.Cleanup(func() { s.close() })
	remember(t, s, directRoute("0123", "s", now, time.Hour), now)
	if err := s.flush(); err == nil {
		t.Fatal("snapshot over a directory succeeded")
	}
	if n := fileLines(t, filepath.Join(dir, routesLogFile)); n != 1 {
		t.Fatalf("log has %d lines after a failed snapshot, want 1", n)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := s.flush(); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if _, ok := loadRoutes(t, dir, now).chat(picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}); !ok {
		t.Error("chat lost by the retried snapshot")
	}
}

func TestRoutesLogSkipsCorruptLines(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	good := `{"kind":"direct","id":"0123","webhook":"https://oapi.dingtalk.com/robot/sendBySession?session=x","expiry_ms":` +
		strconv.FormatInt(now.Add(time.Hour).UnixMilli(), 10) + "}"
	content := "{not json\n" + good + "\n" + `{"kind":"direct","id":"09` // torn last line
	if err := os.WriteFile(filepath.Join(dir, routesLogFile), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	rt := newRoutes()
	n, err := newRouteStore(dir, rt, slog.New(slog.NewTextHandler(&logs, nil))).load(now)
	if err != nil || n != 1 {
		t.Fatalf("load = %d, %v; want the one good line", n, err)
	}
	if r, _ := rt.chat(picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "0123"}); r.webhook == "" {
		t.Errorf("route %+v: want its webhook", r)
	}
	if !strings.Contains(logs.String(), "lines=2") {
		t.Errorf("want a warning for 2 bad lines, got:\n%s", logs.String())
	}
}

func TestChannelFlushesRoutesWhenRunEnds(t *testing.T) {
	srv := newFake(t)
	dir := t.TempDir()
	lc := newLiveChannel(t, srv, func(c *ChannelConfig) { c.StateDir = dir })
	lc.ch.store.delay = time.Hour // only the end of Run can write the snapshot
	connected := make(chan struct{}, 8)
	lc.ch.cfg.OnConnected = func() { connected <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() { done <- lc.ch.Run(ctx, func(in picoclaw.Inbound) { lc.inbound <- in }) }()
	select {
	case <-connected:
	case <-testCtx(t).Done():
		t.Fatalf("channel never connected (logs:\n%s)", lc.logs)
	}
	if err := srv.WaitConnections(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	in := lc.push(t, dingtalktest.BotMessage{Text: "hi", SenderStaffID: "0555"})
	if _, err := os.Stat(filepath.Join(dir, routesFile)); !os.IsNotExist(err) {
		t.Fatalf("snapshot rewritten on the ack path: %v", err)
	}
	if n := fileLines(t, filepath.Join(dir, routesLogFile)); n != 1 {
		t.Fatalf("routes log has %d lines, want the message's route", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, routesFile))
	if err != nil || !strings.Contains(string(raw), in.Chat.ID) || !strings.Contains(string(raw), "sendBySession") {
		t.Errorf("routes file after Run %s (%v): want the chat and its webhook", raw, err)
	}
	if n := fileLines(t, filepath.Join(dir, routesLogFile)); n != 0 {
		t.Errorf("routes log has %d lines after Run, want 0", n)
	}
}

// The ack path logs a route while a snapshot is being written (and
// synced) without waiting for it, and a route logged meanwhile is still
// on disk after the snapshot empties the log.
func TestRoutesRecordDoesNotWaitForSnapshot(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	s := newRouteStore(dir, newRoutes(), nil)
	s.delay = time.Hour // only this test's flush writes a snapshot
	t.Cleanup(func() { s.close() })
	writing, release := make(chan struct{}), make(chan struct{})
	write := s.writeFile
	s.writeFile = func(path string, data []byte, perm os.FileMode) error {
		close(writing)
		<-release // the disk is slow
		return write(path, data, perm)
	}
	remember(t, s, directRoute("0123", "first", now, time.Hour), now)
	flushed := make(chan error, 1)
	go func() { flushed <- s.flush() }()
	<-writing

	// Would deadlock (and the test time out) if record waited for the
	// snapshot.
	remember(t, s, directRoute("0456", "during", now, time.Hour), now)
	close(release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	s.writeFile = write
	if n := fileLines(t, filepath.Join(dir, routesLogFile)); n != 1 {
		t.Errorf("log has %d lines after the snapshot, want the 1 logged during it", n)
	}
	got := loadRoutes(t, dir, now) // as after kill -9 now
	for _, id := range []string{"0123", "0456"} {
		if _, ok := got.chat(picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: id}); !ok {
			t.Errorf("chat %s lost", id)
		}
	}
}
