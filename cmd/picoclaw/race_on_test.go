//go:build race

package main

// raceEnabled: the race detector multiplies memory use, so memory figures
// are reported but not asserted.
const raceEnabled = true
