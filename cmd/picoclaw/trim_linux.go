//go:build linux

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
)

// releaseFilePages unmaps the resident pages of the process's read-only
// private file mappings (the binary's code and read-only data, and shared
// libraries' when built with cgo) with madvise(MADV_DONTNEED), and returns
// how many bytes were resident in them.
//
// This is safe because such a page is a clean copy of the file: the next
// access faults it in again from the page cache (a minor fault, no disk
// read unless the kernel reclaimed it meanwhile) with the same bytes. A
// mapping holding any private (anonymous) page is left alone: that is a
// page written after mapping, e.g. relocations of a PIE binary's RELRO
// data made read-only afterwards, which dropping would lose. The pages
// stay in the page cache; they stop counting in this process's RSS and
// become reclaimable like any unmapped cache.
func releaseFilePages() (int64, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, fmt.Errorf("release file pages: %w", err)
	}
	maps, err := parseSmaps(f)
	f.Close()
	if err != nil {
		return 0, fmt.Errorf("release file pages: read smaps: %w", err)
	}
	var released int64
	var errs []error
	for _, m := range maps {
		if !m.droppable() {
			continue
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED); errno != 0 {
			errs = append(errs, fmt.Errorf("release file pages: madvise %s: %w", m.path, errno))
			continue
		}
		released += m.rss
	}
	return released, errors.Join(errs...)
}

// mapping is one entry of /proc/self/smaps.
type mapping struct {
	start, end uintptr
	perms      string // e.g. "r-xp"
	path       string // first word of the pathname; "" for anonymous memory
	rss, anon  int64  // bytes; anon is -1 when the entry has no Anonymous line
}

// droppable says whether dropping the mapping's resident pages loses
// nothing: private, not writable, backed by a file ("[vdso]", "[heap]"
// and anonymous memory are not), and holding no page of its own.
func (m mapping) droppable() bool {
	return len(m.perms) == 4 && m.perms[0] == 'r' && m.perms[1] != 'w' && m.perms[3] == 'p' &&
		len(m.path) > 0 && m.path[0] == '/' && m.anon == 0 && m.rss > 0 && m.end > m.start
}

// parseSmaps reads the mappings of a /proc/<pid>/smaps document with the
// fields droppable needs. An entry starts with a header line
// ("00400000-008b1000 r-xp 00000000 fe:00 123 /usr/bin/picoclaw"),
// followed by "Key:   value kB" lines. It streams and reuses its buffers:
// the point is to leave the heap as small as it found it.
func parseSmaps(r io.Reader) ([]mapping, error) {
	var out []mapping
	var f [][]byte
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20) // a path may be up to PATH_MAX
	for sc.Scan() {
		f = appendFields(f[:0], sc.Bytes())
		if len(f) == 0 {
			continue
		}
		if m, ok := parseMapsHeader(f); ok {
			out = append(out, m)
			continue
		}
		if len(out) == 0 || len(f) != 3 || string(f[2]) != "kB" {
			continue
		}
		var dst *int64
		switch string(f[0]) {
		case "Rss:":
			dst = &out[len(out)-1].rss
		case "Anonymous:":
			dst = &out[len(out)-1].anon
		default:
			continue
		}
		if kb, ok := parseKB(f[1]); ok {
			*dst = kb << 10
		}
	}
	return out, sc.Err()
}

// parseKB parses a decimal count of kB (strconv would allocate a string).
func parseKB(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// appendFields appends the space-separated fields of line to dst, like
// bytes.Fields without allocating a new slice per line.
func appendFields(dst [][]byte, line []byte) [][]byte {
	for {
		line = bytes.TrimLeft(line, " \t")
		if len(line) == 0 {
			return dst
		}
		i := bytes.IndexAny(line, " \t")
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i:]
	}
}

// parseMapsHeader parses "start-end perms offset dev inode [path]".
func parseMapsHeader(f [][]byte) (mapping, bool) {
	if len(f) < 5 {
		return mapping{}, false
	}
	lo, hi, ok := bytes.Cut(f[0], []byte("-"))
	if !ok {
		return mapping{}, false
	}
	start, err := strconv.ParseUint(string(lo), 16, 64)
	if err != nil {
		return mapping{}, false
	}
	end, err := strconv.ParseUint(string(hi), 16, 64)
	if err != nil {
		return mapping{}, false
	}
	m := mapping{start: uintptr(start), end: uintptr(end), perms: string(f[1]), anon: -1}
	if len(f) >= 6 {
		m.path = string(f[5])
	}
	return m, true
}
