package main

import (
	"fmt"
	"io"
	goruntime "runtime"
	"runtime/debug"
)

// buildInfo is what this binary knows about its own build: the -ldflags
// version or the module version `go install` recorded, and the VCS stamp
// the go command embeds when building inside a checkout.
type buildInfo struct {
	Version   string // "dev" when nothing is known
	Revision  string // vcs.revision, "" when not stamped
	Modified  bool   // vcs.modified: built from a dirty tree
	Time      string // vcs.time (commit date, RFC 3339), "" when not stamped
	GoVersion string
}

// readBuildInfo reads the build stamp; read is debug.ReadBuildInfo,
// injected for tests.
func readBuildInfo(ldVersion string, read func() (*debug.BuildInfo, bool)) buildInfo {
	b := buildInfo{Version: ldVersion, GoVersion: goruntime.Version()}
	bi, ok := read()
	if !ok {
		return b
	}
	if bi.GoVersion != "" {
		b.GoVersion = bi.GoVersion
	}
	if b.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		b.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// print writes the `picoclaw version` text.
func (b buildInfo) print(w io.Writer) {
	fmt.Fprintf(w, "picoclaw %s\n", b.Version)
	rev := "unknown (not stamped: `go run`, -buildvcs=false, or a build outside a git checkout)"
	if b.Revision != "" {
		rev = b.Revision
		if b.Modified {
			rev += " (modified)"
		}
	}
	fmt.Fprintf(w, "revision: %s\n", rev)
	date := "unknown"
	if b.Time != "" {
		date = b.Time
	}
	fmt.Fprintf(w, "built:    %s\n", date)
	fmt.Fprintf(w, "go:       %s\n", b.GoVersion)
}
