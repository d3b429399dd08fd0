package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// `picoclaw version` and `--version` print what the binary knows of its
// build, and "dev" only when it knows nothing.
func TestVersionCommandAndFlag(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := runCLI(t, nil, "", args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		for _, want := range []string{"picoclaw ", "revision: ", "built: ", "go:       go1."} {
			if !strings.Contains(out, want) {
				t.Errorf("%v output lacks %q:\n%s", args, want, out)
			}
		}
	}
}

func TestReadBuildInfo(t *testing.T) {
	stamped := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef"},
			{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}, true
	}
	var sb strings.Builder
	readBuildInfo("dev", stamped).print(&sb)
	for _, want := range []string{"picoclaw dev\n", "revision: 0123456789abcdef (modified)\n", "built:    2026-12-01T10:00:00Z\n", "go:       go1.26.0\n"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("version text lacks %q:\n%s", want, sb.String())
		}
	}

	installed := func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}}, true
	}
	if b := readBuildInfo("dev", installed); b.Version != "v1.2.3" {
		t.Errorf("version = %q, want the module version go install recorded", b.Version)
	}
	if b := readBuildInfo("v9.0.0", installed); b.Version != "v9.0.0" {
		t.Errorf("version = %q, want the -ldflags version first", b.Version)
	}
	if b := readBuildInfo("dev", func() (*debug.BuildInfo, bool) { return nil, false }); b.Version != "dev" || b.GoVersion == "" {
		t.Errorf("no build info: got %+v, want dev and the runtime's Go version", b)
	}
}
