// Package sandboxtest holds test helpers for code that runs commands in a
// sandbox.Sandbox.
package sandboxtest

import (
	"context"
	"errors"
	"testing"

	"picoclaw/sandbox"
)

// Require skips t, printing why, when this kernel cannot run the sandbox
// (no Landlock, no user namespaces); any other probe failure fails t.
func Require(t testing.TB, s *sandbox.Sandbox) {
	t.Helper()
	if err := s.Probe(context.Background()); err != nil {
		if errors.Is(err, sandbox.ErrKernel) {
			t.Skipf("skipped: %v", err)
		}
		t.Fatalf("sandbox probe: %v", err)
	}
}
