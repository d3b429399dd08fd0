//go:build linux

package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	ll "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// insideUID is the user id a command has inside its user namespace when
// the gateway runs as root: not 0, so that the shell holds no
// capabilities even within its own namespaces.
const insideUID = 1000

// kernelSupport reports whether the kernel offers Landlock.
func kernelSupport() error {
	v, err := ll.LandlockGetABIVersion()
	if err != nil {
		return fmt.Errorf("sandbox: %w: no Landlock (%w); it needs Linux 5.13+ built with CONFIG_SECURITY_LANDLOCK and landlock in the lsm= boot list", ErrKernel, err)
	}
	if v < 1 {
		return fmt.Errorf("sandbox: %w: Landlock ABI %d", ErrKernel, v)
	}
	return nil
}

// LandlockABI returns the kernel's Landlock ABI version, 0 when absent.
func LandlockABI() int {
	v, err := ll.LandlockGetABIVersion()
	if err != nil {
		return 0
	}
	return v
}

// configure starts cmd in new user, PID and (unless network) network
// namespaces, as its own process group, killed when the gateway dies.
func configure(cmd *exec.Cmd, network bool) error {
	flags := uintptr(unix.CLONE_NEWUSER | unix.CLONE_NEWPID)
	if !network {
		flags |= unix.CLONE_NEWNET
	}
	uid, gid := os.Getuid(), os.Getgid()
	in := uid
	if in == 0 {
		in = insideUID
	}
	inGID := gid
	if inGID == 0 {
		inGID = insideUID
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 flags,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: in, HostID: uid, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: inGID, HostID: gid, Size: 1}},
		GidMappingsEnableSetgroups: false,
		Setpgid:                    true,
		Pdeathsig:                  syscall.SIGKILL,
	}
	return nil
}

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// RunChildIfAsked turns this process into a sandbox child when its first
// argument is ChildArg, and never returns then. Call it first thing in
// main (and in TestMain of packages whose tests run sandboxed commands).
func RunChildIfAsked() {
	if len(os.Args) > 1 && os.Args[1] == ChildArg {
		os.Exit(childMain(os.Args[2:]))
	}
}

// childMain confines this process and replaces it with sh -c command. It
// only returns on failure, having said why on stderr.
func childMain(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "sandbox: "+format+"\n", a...)
		return SetupFailedCode
	}
	if len(args) != 2 {
		return fail("expected a spec and a command, got %d arguments", len(args))
	}
	var sp spec
	if err := json.Unmarshal([]byte(args[0]), &sp); err != nil {
		return fail("decode spec: %v", err)
	}
	if err := kernelSupport(); err != nil {
		return fail("%v", err)
	}
	var rules []landlock.Rule
	add := func(roots []string, write bool) {
		for _, root := range roots {
			hidden := sp.Hidden
			if slices.Contains(sp.Extra, root) {
				// Granted on purpose inside a hidden path: only what is
				// hidden below it stays out.
				hidden = slices.DeleteFunc(slices.Clone(hidden), func(h string) bool { return h == root || !within(h, root) })
			}
			for _, g := range carve(root, hidden) {
				switch {
				case write && g.dir:
					rules = append(rules, landlock.RWDirs(g.path).WithRefer())
				case write:
					rules = append(rules, landlock.RWFiles(g.path))
				case g.dir:
					rules = append(rules, landlock.RODirs(g.path))
				default:
					rules = append(rules, landlock.ROFiles(g.path))
				}
			}
		}
	}
	add(sp.RW, true)
	add(sp.RO, false)
	add(sp.Extra, false)
	add(sp.Devices, true)

	cfg := landlock.V11.BestEffort()
	if sp.Network {
		cfg.HandledAccessNet = 0
	}
	fd, flags, err := cfg.NewRulesetFD(rules...)
	if err != nil {
		return fail("landlock ruleset: %v", err)
	}
	if fd < 0 {
		return fail("landlock: nothing to enforce on this kernel")
	}
	// Landlock binds the calling thread; it is never unlocked, and exec
	// follows at once, so the new program inherits the domain.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail("prctl(PR_SET_NO_NEW_PRIVS): %v", err)
	}
	if err := ll.LandlockRestrictSelf(fd, flags); err != nil {
		return fail("landlock_restrict_self: %v", err)
	}
	_ = unix.Close(fd)
	err = syscall.Exec("/bin/sh", []string{"sh", "-c", args[1]}, os.Environ())
	return fail("exec /bin/sh: %v", err)
}
