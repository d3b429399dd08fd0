package outbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	"picoclaw"
	"picoclaw/internal/fsutil"
)

// replayed is what a read of outbox.jsonl found.
type replayed struct {
	pending []*entry // undelivered answers, in Put order
	records int
	maxID   uint64
	torn    bool // a torn last line could not be cut off
}

// replay reads f from its start. Corrupt lines are skipped with a warning
// (without their text: it is a user's answer); a torn last line (a crash
// mid-write) is cut off when cut is set.
func replay(f *os.File, log *slog.Logger, cut bool) (replayed, error) {
	var st replayed
	byID := map[uint64]*entry{}
	r := bufio.NewReaderSize(f, fsutil.ReplayBufferSize(f, 64<<10))
	var size int64
	for lineNo := 1; ; lineNo++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 && cut {
				log.Warn("outbox: ignored torn last line", "bytes", len(line))
				if terr := f.Truncate(size); terr != nil {
					log.Warn("outbox: cut torn last line", "err", terr)
					st.torn = true
				}
			}
			break
		}
		if err != nil {
			return st, fmt.Errorf("read: %w", err)
		}
		size += int64(len(line))
		st.records++
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		rec, err := decodeRecord(line)
		if err != nil {
			log.Warn("outbox: skipped corrupt line", "line", lineNo, "err", err)
			continue
		}
		st.maxID = max(st.maxID, rec.ID)
		switch rec.Op {
		case opPut:
			if _, ok := byID[rec.ID]; ok {
				continue
			}
			out, _ := rec.Out.outbound() // checked by decodeRecord
			byID[rec.ID] = &entry{id: rec.ID, key: picoclaw.NewSessionKey(out.Channel, out.Chat), out: out, at: rec.At}
		case opSent:
			if e, ok := byID[rec.ID]; ok {
				e.sent = max(e.sent, rec.Parts)
			}
		case opDone, opDrop:
			delete(byID, rec.ID)
		}
	}
	for _, e := range byID {
		st.pending = append(st.pending, e)
	}
	slices.SortFunc(st.pending, func(a, b *entry) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return st, nil
}

// countLines counts the non-empty lines of path; a missing file has none.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			n++
		}
	}
	if err := sc.Err(); err != nil {
		return n, fmt.Errorf("read %s: %w", path, err)
	}
	return n, nil
}

// Inspect reads the outbox kept in dir without changing it, for
// `picoclaw status` while no gateway runs (or while one does: it only
// reads). A missing directory is an empty outbox.
func Inspect(dir string) (Stats, error) {
	var st Stats
	f, err := os.Open(filepath.Join(dir, FileName))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return st, fmt.Errorf("outbox: inspect: %w", err)
	default:
		defer f.Close()
		rs, err := replay(f, slog.New(slog.DiscardHandler), false)
		if err != nil {
			return st, fmt.Errorf("outbox: inspect %s: %w", f.Name(), err)
		}
		st.Pending = len(rs.pending)
		for _, e := range rs.pending {
			if st.Oldest.IsZero() || e.at.Before(st.Oldest) {
				st.Oldest = e.at
			}
		}
	}
	if st.FailedPermanent, err = countLines(filepath.Join(dir, DeadName)); err != nil {
		return st, fmt.Errorf("outbox: inspect: %w", err)
	}
	return st, nil
}
