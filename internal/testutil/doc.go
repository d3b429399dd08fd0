// Package testutil holds small helpers shared by the project's tests: a
// goroutine-safe log sink and a settable clock.
package testutil
