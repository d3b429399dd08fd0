//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"unsafe"
)

// inNetnsEnv marks the bench process re-executed inside its namespaces.
const inNetnsEnv = "PICOCLAW_BENCH_IN_NETNS"

// inNetns reports whether this process is the re-executed bench.
func inNetns() bool { return os.Getenv(inNetnsEnv) == "1" }

// reexecInNetns runs this bench again, with the same arguments, in new
// user, mount and network namespaces: the run sees only a loopback
// interface, so nothing it does can reach the Internet, and may bind
// port 443 and replace /etc/hosts for itself alone. It needs
// unprivileged user namespaces or root.
func reexecInNetns(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	self, err := os.Executable()
	if err != nil {
		return 0, fmt.Errorf("bench: find own binary to re-run in a network namespace: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	cmd.Env = append(os.Environ(), inNetnsEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		Pdeathsig:   syscall.SIGKILL,
	}
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, fmt.Errorf("bench: re-run in new user, mount and network namespaces (needs root or unprivileged user namespaces): %w", err)
	}
	return 0, nil
}

// setupNetns, inside the namespaces, brings the loopback interface up and
// mounts a hosts file naming hosts as 127.0.0.1 over /etc/hosts, in this
// mount namespace only.
func setupNetns(dir string, hosts []string) error {
	if err := loopbackUp(); err != nil {
		return err
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("bench: make mounts private: %w", err)
	}
	f := filepath.Join(dir, "hosts")
	text := "127.0.0.1 localhost\n::1 localhost\n127.0.0.1 " + strings.Join(hosts, " ") + "\n"
	if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
		return fmt.Errorf("bench: write hosts file: %w", err)
	}
	if err := syscall.Mount(f, "/etc/hosts", "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("bench: bind-mount %s over /etc/hosts: %w", f, err)
	}
	return nil
}

// loopbackUp sets IFF_UP on lo (a new network namespace starts with it
// down), through the SIOCSIFFLAGS ioctl that ip(8) uses.
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bench: bring lo up: socket: %w", err)
	}
	defer syscall.Close(fd)
	var ifr struct {
		name  [syscall.IFNAMSIZ]byte
		flags uint16
		_     [22]byte // the rest of struct ifreq's union
	}
	copy(ifr.name[:], "lo")
	for _, req := range []uintptr{syscall.SIOCGIFFLAGS, syscall.SIOCSIFFLAGS} {
		if req == syscall.SIOCSIFFLAGS {
			ifr.flags |= syscall.IFF_UP
		}
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&ifr))); errno != 0 {
			return fmt.Errorf("bench: bring lo up: ioctl: %w", errno)
		}
	}
	return nil
}
