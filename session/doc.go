// Package session keeps conversation histories on disk: one append-only
// JSONL file per session key, one picoclaw.Message per line.
//
// Appends are fdatasynced (fsync off Linux) under a per-key lock, so a
// crash loses at most the line being written; Load skips such a torn line
// (and any other corrupt line) with a warning instead of failing. Reset
// never deletes: it moves the history aside to an archive file next to it.
//
// Recently used histories stay decoded in memory (DefaultCacheBytes of
// files, least recently used out), so a turn does not decode its whole
// history again: Append extends the cached copy with exactly what it
// wrote. A cached history is used only while its file is unchanged
// (inode, size, modification time), so another process writing the same
// directory is seen at the next Load. The files of recently active
// histories also stay open between appends (an open and a close fewer per
// append), each used again only while its path still names it; Close
// closes them.
package session
