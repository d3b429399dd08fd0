package sandbox_test

import (
	"os"
	"testing"

	"picoclaw/sandbox"
)

// TestMain lets the test binary act as the sandbox child.
func TestMain(m *testing.M) {
	sandbox.RunChildIfAsked()
	os.Exit(m.Run())
}
