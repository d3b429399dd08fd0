//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// readMem reads VmRSS, VmHWM and the Rss split from /proc/<pid>/status,
// and PSS from /proc/<pid>/smaps_rollup where the kernel has it.
func readMem(pid int) (memInfo, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memInfo{}, fmt.Errorf("bench: read memory of pid %d: %w", pid, err)
	}
	m, err := parseStatus(data)
	if err != nil {
		return m, err
	}
	if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid)); err == nil {
		if m.PSS, err = parsePSS(data); err != nil {
			return m, err
		}
	}
	return m, nil
}

// resetPeak resets VmHWM to the current RSS (clear_refs value 5, Linux ≥
// 4.0), so a phase's peak is its own.
func resetPeak(pid int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		return fmt.Errorf("bench: reset peak RSS of pid %d: %w", pid, err)
	}
	return nil
}

// detach puts the gateway in its own process group, so a Ctrl-C at the
// terminal reaches only the bench (which then stops the gateway itself),
// and has the kernel kill it if the bench dies without cleaning up.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// processCPU returns the user+system CPU time pid has used.
func processCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: read CPU time of pid %d: %w", pid, err)
	}
	return parseStatCPU(data)
}

// childrenCPU returns the user+system CPU time of the children pid has
// waited for, such as the exec sandbox's trial process (10 ms ticks).
func childrenCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("bench: read CPU time of pid %d's children: %w", pid, err)
	}
	return parseStatChildCPU(data)
}

// selfCPU returns the user+system CPU time of this process: the fakes and
// the bench's own bookkeeping.
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("bench: getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// threadsCPU returns the time pid's threads have run, from
// /proc/<pid>/task/*/schedstat (nanoseconds; /proc/<pid>/stat counts
// 10 ms ticks, too coarse for a start-up).
func threadsCPU(pid int) (time.Duration, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("bench: list threads of pid %d: %w", pid, err)
	}
	var total time.Duration
	for _, t := range tasks {
		data, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread ended
		}
		ns, err := parseSchedstat(data)
		if err != nil {
			return 0, err
		}
		total += ns
	}
	return total, nil
}
