package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// memInfo is a process's resident memory, in bytes.
type memInfo struct {
	RSS  int64 `json:"rss"`      // VmRSS: resident now
	Peak int64 `json:"peak_rss"` // VmHWM: the most resident since start or the last resetPeak
	// Anon and File split RSS into heap/stacks and mapped files (mostly
	// the binary's own pages); 0 on kernels before 4.5.
	Anon  int64 `json:"rss_anon"`
	File  int64 `json:"rss_file"`
	Shmem int64 `json:"rss_shmem"` // e.g. a binary run from tmpfs
	// PSS is the proportional set size (smaps_rollup, Linux ≥ 4.14):
	// pages shared with other processes count by their share. A lone
	// gateway shares nothing but page cache, so it is close to VmRSS; 0
	// where the kernel lacks it.
	PSS int64 `json:"pss"`
}

// parseStatus picks VmRSS and VmHWM ("VmRSS:	  5120 kB") out of a
// /proc/<pid>/status document.
func parseStatus(data []byte) (memInfo, error) {
	var m memInfo
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		key, rest, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(key) {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		case "RssAnon":
			dst = &m.Anon
		case "RssFile":
			dst = &m.File
		case "RssShmem":
			dst = &m.Shmem
		default:
			continue
		}
		var err error
		if *dst, err = parseKB(key, rest); err != nil {
			return memInfo{}, fmt.Errorf("bench: parse /proc status: %w", err)
		}
		if key[0] == 'V' {
			seen++
		}
	}
	if seen != 2 {
		return memInfo{}, fmt.Errorf("bench: parse /proc status: VmRSS or VmHWM missing")
	}
	return m, nil
}

// parsePSS picks Pss out of a /proc/<pid>/smaps_rollup document.
func parsePSS(data []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if key, rest, ok := bytes.Cut(sc.Bytes(), []byte(":")); ok && string(key) == "Pss" {
			n, err := parseKB(key, rest)
			if err != nil {
				return 0, fmt.Errorf("bench: parse /proc smaps_rollup: %w", err)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("bench: parse /proc smaps_rollup: no Pss line")
}

// parseKB reads the value of a "  5120 kB" line, in bytes.
func parseKB(key, rest []byte) (int64, error) {
	fields := bytes.Fields(rest)
	if len(fields) != 2 || string(fields[1]) != "kB" {
		return 0, fmt.Errorf("unexpected %s value %q", key, rest)
	}
	kb, err := strconv.ParseInt(string(fields[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return kb * 1024, nil
}

// parseSchedstat returns the first field of a /proc/<pid>/task/<tid>/
// schedstat line: nanoseconds spent running.
func parseSchedstat(data []byte) (time.Duration, error) {
	f := bytes.Fields(data)
	if len(f) == 0 {
		return 0, fmt.Errorf("bench: parse schedstat: empty")
	}
	ns, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bench: parse schedstat: %w", err)
	}
	return time.Duration(ns), nil
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// parseStatChildCPU returns cutime+cstime of a /proc/<pid>/stat line:
// the CPU time of the children it has waited for (fields 16 and 17).
func parseStatChildCPU(data []byte) (time.Duration, error) {
	return statTicks(data, 13)
}

// parseStatCPU returns utime+stime of a /proc/<pid>/stat line. The command
// name (field 2) is in parentheses and may hold spaces, so fields are
// counted from the last ')': utime and stime are fields 14 and 15.
func parseStatCPU(data []byte) (time.Duration, error) {
	return statTicks(data, 11)
}

// statTicks sums the two clock-tick fields of a /proc/<pid>/stat line
// that start at index i of the fields after the command name.
func statTicks(data []byte, i int) (time.Duration, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, fmt.Errorf("bench: parse /proc stat: no command name")
	}
	f := bytes.Fields(data[end+1:]) // f[0] is field 3
	if len(f) < i+2 {
		return 0, fmt.Errorf("bench: parse /proc stat: %d fields", len(f)+2)
	}
	var ticks int64
	for _, s := range f[i : i+2] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: parse /proc stat times: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}
