//go:build !linux

package main

import (
	"errors"
	"os/exec"
	"time"
)

func readMem(int) (memInfo, error) {
	return memInfo{}, errors.New("bench: memory figures need Linux /proc")
}

func resetPeak(int) error { return errors.New("bench: resetting peak RSS needs Linux /proc") }

func detach(*exec.Cmd) {}

func processCPU(int) (time.Duration, error) {
	return 0, errors.New("bench: CPU time of the gateway needs Linux /proc")
}

func selfCPU() (time.Duration, error) { return 0, errors.New("bench: CPU time needs Linux") }

func threadsCPU(int) (time.Duration, error) {
	return 0, errors.New("bench: CPU time of threads needs Linux /proc")
}

func childrenCPU(int) (time.Duration, error) {
	return 0, errors.New("bench: CPU time of child processes needs Linux /proc")
}
