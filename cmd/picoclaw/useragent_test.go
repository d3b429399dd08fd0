package main

import (
	"strings"
	"testing"
)

// DingTalk sees which build connects: the -ldflags version when set.
func TestUserAgentNamesTheBuild(t *testing.T) {
	if ua := userAgent(); !strings.HasPrefix(ua, "picoclaw/") || len(ua) == len("picoclaw/") {
		t.Errorf("userAgent() = %q, want picoclaw/<version>", ua)
	}
	old := version
	t.Cleanup(func() { version = old })
	version = "v1.2.3"
	if ua := userAgent(); ua != "picoclaw/v1.2.3" {
		t.Errorf("userAgent() = %q, want picoclaw/v1.2.3", ua)
	}
}
