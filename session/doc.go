// Package session keeps conversation histories on disk: one append-only
// JSONL file per session key, one picoclaw.Message per line.
//
// Appends are fsynced under a per-key lock, so a crash loses at most the
// line being written; Load skips such a torn line (and any other corrupt
// line) with a warning instead of failing. Reset never deletes: it moves
// the history aside to an archive file next to it.
package session
