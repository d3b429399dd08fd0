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
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *routeStore) flushLocked() error {
	if s.timer != nil {
		s.timer.Stop() // a timer already fired finds nothing to do
		s.timer = nil
	}
	if !s.dirty {
		return nil
	}
	if err := s.snapshotLocked(); err != nil {
		return err
	}
	s.dirty = false
	s.saves++
	if s.lf != nil {
		// O_APPEND: the next record goes to the start of the emptied log.
		if err := s.lf.Truncate(0); err != nil {
			return fmt.Errorf("dingtalk: empty routes log: %w", err)
		}
	}
	return nil
}

// saveNow rewrites the snapshot at once, for changes the log does not
// carry (a webhook forgotten).
func (s *routeStore) saveNow() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dirty = true
	return s.flushLocked()
}

// close flushes and closes the log; a later record opens it again.
func (s *routeStore) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.flushLocked()
	if s.lf != nil {
		err = errors.Join(err, s.lf.Close())
		s.lf = nil
	}
	return err
}
