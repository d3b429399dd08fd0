// Package testutil holds small helpers shared by the project's tests: a
// goroutine-safe log sink, a settable clock and an in-memory HTTP
// transport for tests in a testing/synctest bubble.
package testutil
