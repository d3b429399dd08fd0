//go:build linux

package sandbox_test

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"picoclaw/sandbox"
	"picoclaw/sandbox/sandboxtest"
)

// BenchmarkSandboxedTrue measures what the sandbox adds to one command:
// compare with BenchmarkPlainTrue.
func BenchmarkSandboxedTrue(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	s, err := sandbox.New(sandbox.Policy{Workspace: b.TempDir()}, exe)
	if err != nil {
		b.Fatal(err)
	}
	sandboxtest.Require(b, s)
	for b.Loop() {
		cmd, cleanup, err := s.Command(context.Background(), s.Policy().Workspace, "true")
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		cleanup()
	}
}

func BenchmarkPlainTrue(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("sh", "-c", "true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}
