// Package cpuprof starts a CPU profile into a file, for the gateway's and
// the bench's hidden --cpuprofile flags.
package cpuprof

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// Start profiles the process into path until the returned stop is called.
func Start(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
