package tools

import (
	"os"
	"testing"

	execbox "picoclaw/sandbox"
)

// TestMain lets the test binary act as the exec sandbox's child.
func TestMain(m *testing.M) {
	execbox.RunChildIfAsked()
	os.Exit(m.Run())
}
