// Package backoff computes jittered exponential retry delays and waits
// them out unless a context ends first. It exists so that every reconnect
// and retry loop in picoclaw backs off the same way and never spins.
package backoff
