//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

const smapsSample = `00400000-008b1000 r-xp 00000000 fe:00 9978849                            /usr/bin/picoclaw
Size:               4804 kB
Rss:                4548 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me sd
008b1000-00de8000 r--p 004b1000 fe:00 9978849                            /usr/bin/picoclaw
Size:               5340 kB
Rss:                4380 kB
Anonymous:             0 kB
00de8000-00e48000 rw-p 009e8000 fe:00 9978849                            /usr/bin/picoclaw
Rss:                 224 kB
Anonymous:            84 kB
00e48000-02e8c000 rw-p 00000000 00:00 0
Rss:                  92 kB
Anonymous:            92 kB
7fcae3143000-7fcae3147000 r--p 001cf000 fe:00 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                  16 kB
Anonymous:            16 kB
7fcae3161000-7fcae3165000 r--p 00000000 00:00 0                          [vvar]
Rss:                   0 kB
Anonymous:             0 kB
7fcae3167000-7fcae3169000 r-xp 00000000 00:00 0                          [vdso]
Rss:                   8 kB
Anonymous:             0 kB
7fcae4000000-7fcae4001000 r--s 00000000 fe:00 77                         /dev/shm/x
Rss:                   4 kB
Anonymous:             0 kB
7fcae5000000-7fcae5001000 r--p 00000000 fe:00 78                         /data/no anonymous line
Rss:                   4 kB
7fcae6000000-7fcae6001000 ---p 00000000 fe:00 79                         /data/guard
Rss:                   0 kB
Anonymous:             0 kB
`

func TestParseSmapsDroppable(t *testing.T) {
	ms, err := parseSmaps(strings.NewReader(smapsSample))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 10 {
		t.Fatalf("parsed %d mappings, want 10: %+v", len(ms), ms)
	}
	tests := []struct {
		name  string
		start uintptr
		rss   int64
		want  bool
	}{
		{"binary code", 0x400000, 4548 << 10, true},
		{"binary read-only data", 0x8b1000, 4380 << 10, true},
		{"binary writable data", 0xde8000, 224 << 10, false},
		{"bss and anonymous memory", 0xe48000, 92 << 10, false},
		{"RELRO data with relocated pages", 0x7fcae3143000, 16 << 10, false},
		{"vvar", 0x7fcae3161000, 0, false},
		{"vdso", 0x7fcae3167000, 8 << 10, false},
		{"shared mapping", 0x7fcae4000000, 4 << 10, false},
		{"no Anonymous line", 0x7fcae5000000, 4 << 10, false},
		{"guard without access", 0x7fcae6000000, 0, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ms[i]
			if m.start != tt.start || m.rss != tt.rss {
				t.Fatalf("mapping %d = %+v, want start %#x rss %d", i, m, tt.start, tt.rss)
			}
			if got := m.droppable(); got != tt.want {
				t.Errorf("droppable(%+v) = %v, want %v", m, got, tt.want)
			}
		})
	}
}

// mapFile maps a new file of size bytes (each page filled with its
// number) private with prot, and returns the mapping and its content.
func mapFile(t *testing.T, size, prot int) (mem, want []byte) {
	t.Helper()
	want = make([]byte, size)
	for i := range want {
		want[i] = byte(i / os.Getpagesize())
	}
	path := filepath.Join(t.TempDir(), "pages")
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err = syscall.Mmap(int(f.Fd()), 0, size, prot, syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Munmap(mem) })
	return mem, want
}

// residentOf returns the Rss of the mapping that starts at mem.
func residentOf(t *testing.T, mem []byte) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	start := uintptr(unsafe.Pointer(&mem[0]))
	ms, err := parseSmaps(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.start == start {
			return m.rss
		}
	}
	t.Fatalf("no mapping at %#x in smaps", start)
	return 0
}

func touch(mem []byte) (sum byte) {
	for i := 0; i < len(mem); i += os.Getpagesize() {
		sum += mem[i]
	}
	return sum
}

func TestReleaseFilePages(t *testing.T) {
	tests := []struct {
		name string
		// dirty writes the first page before the mapping is made
		// read-only, as a loader's relocations do.
		dirty        bool
		wantReleased bool
	}{
		{name: "clean read-only mapping is dropped", wantReleased: true},
		{name: "mapping with a written page is kept", dirty: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := 64 * os.Getpagesize()
			mem, want := mapFile(t, size, syscall.PROT_READ|syscall.PROT_WRITE)
			if tt.dirty {
				mem[0] = 0xAA
				want[0] = 0xAA
			}
			if err := syscall.Mprotect(mem, syscall.PROT_READ); err != nil {
				t.Fatal(err)
			}
			if touch(mem) != touch(want) {
				t.Fatal("mapping does not hold the file")
			}
			before := residentOf(t, mem)
			if before == 0 {
				t.Fatal("touched pages are not resident")
			}
			if _, err := releaseFilePages(); err != nil {
				t.Fatal(err)
			}
			after := residentOf(t, mem)
			if released := after == 0; released != tt.wantReleased {
				t.Errorf("resident %d bytes before, %d after; want released %v", before, after, tt.wantReleased)
			}
			if !bytes.Equal(mem, want) {
				t.Error("content changed by the release")
			}
		})
	}
}

// The real process trims its memory once connected, and keeps answering
// with its code pages dropped.
func TestChildGatewayAnswersAfterTrim(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.SetHandler(func(r providertest.RecordedRequest) providertest.Reply {
		return providertest.Reply{Content: "answer to " + r.LastUser()}
	})
	startChild(t, h)
	deadline := time.After(10 * time.Second)
	for !strings.Contains(h.logs.String(), "memory trim: released") {
		select {
		case <-deadline:
			t.Fatal("the gateway did not trim its memory after connecting")
		case <-time.After(10 * time.Millisecond):
		}
	}
	h.push(dingtalktest.BotMessage{SenderStaffID: "user-a", Text: "hello"})
	if got := h.waitReplies(1); got[0].Text != "answer to hello" {
		t.Errorf("reply after the trim = %q", got[0].Text)
	}
}
