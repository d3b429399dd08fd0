package dingtalk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// record appends r to the routes log (a write, no fsync) and has the
// snapshot rewritten within s.delay.
func (s *routeStore) record(r route) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	if err := s.enc.Encode(recordOf(r)); err != nil {
		return fmt.Errorf("dingtalk: log route: %w", err)
	}
	if s.lf == nil {
		if err := os.MkdirAll(filepath.Dir(s.logPath), 0o700); err != nil {
			return fmt.Errorf("dingtalk: log route: %w", err)
		}
		f, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("dingtalk: log route: %w", err)
		}
		s.lf = f
	}
	if _, err := s.lf.Write(s.buf.Bytes()); err != nil {
		return fmt.Errorf("dingtalk: log route: %w", err)
	}
	if s.saving {
		s.later = append(s.later, s.buf.Bytes()...)
	}
	s.dirty = true
	if s.timer == nil {
		s.timer = time.AfterFunc(s.delay, s.flushLater)
	}
	return nil
}

func (s *routeStore) flushLater() {
	if err := s.flush(); err != nil {
		s.log.Warn("dingtalk: chats not saved; session webhooks will be forgotten on restart", "err", err)
	}
}

// flush rewrites the snapshot and empties the log, if the log holds
// changes. A failure leaves the log as it is, for the next flush.
func (s *routeStore) flush() error {
	return s.save(false)
}

// saveNow rewrites the snapshot at once, for changes the log does not
// carry (a webhook forgotten).
func (s *routeStore) saveNow() error {
	return s.save(true)
}

// save writes a snapshot if the log holds changes (or force). The routes
// are copied under mu and written outside it; then, under mu again, the
// log is emptied but for the lines logged while the snapshot was written.
func (s *routeStore) save(force bool) error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()

	s.mu.Lock()
	if s.timer != nil {
		s.timer.Stop() // a timer already fired finds nothing to do
		s.timer = nil
	}
	if !s.dirty && !force {
		s.mu.Unlock()
		return nil
	}
	chats := s.t.chats()
	s.dirty, s.saving, s.later = false, true, nil
	s.mu.Unlock()

	err := s.writeSnapshot(chats)

	s.mu.Lock()
	defer s.mu.Unlock()
	later := s.later
	s.saving, s.later = false, nil
	if err != nil {
		s.dirty = true // the log still holds every change: retry later
		return err
	}
	s.saves++
	if s.lf == nil {
		return nil
	}
	// O_APPEND: what is written next goes to the start of the emptied log.
	// Page-cache operations, no sync.
	if err := s.lf.Truncate(0); err != nil {
		s.dirty = true
		return fmt.Errorf("dingtalk: empty routes log: %w", err)
	}
	if len(later) > 0 {
		if _, err := s.lf.Write(later); err != nil {
			s.dirty = true
			return fmt.Errorf("dingtalk: keep routes logged during a snapshot: %w", err)
		}
	}
	return nil
}

// close flushes and closes the log; a later record opens it again.
func (s *routeStore) close() error {
	err := s.flush()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lf != nil {
		err = errors.Join(err, s.lf.Close())
		s.lf = nil
	}
	return err
}
