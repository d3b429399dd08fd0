//go:build !linux

package sandbox

import (
	"fmt"
	"os/exec"
	"runtime"
)

func kernelSupport() error {
	return fmt.Errorf("sandbox: %w: %s has no Landlock or user namespaces (Linux only)", ErrKernel, runtime.GOOS)
}

// LandlockABI returns 0: Landlock is Linux's.
func LandlockABI() int { return 0 }

func configure(*exec.Cmd, bool) error { return kernelSupport() }

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}

// RunChildIfAsked does nothing off Linux.
func RunChildIfAsked() {}
