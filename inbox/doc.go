// Package inbox is the durable inbox of the gateway: it records every
// accepted inbound message on disk before the channel acknowledges it, and
// records when its answer has been delivered, so that a crash (even
// kill -9) never loses an accepted message and answers one twice only if
// it struck within DoneDelay of the answer (see below).
//
// The state lives in one append-only file, journal.jsonl, holding one JSON
// record per line in the journal's own versioned wire format (wire.go;
// field names are the format, never Go field names):
//
//	{"v":1,"op":"accept","id":"msgId","at":"…","in":{"channel":"dingtalk","chat_kind":"direct","chat_id":"…","message_id":"msgId","text":"…",…}}
//	{"v":1,"op":"attempt","id":"msgId","at":"…"}
//	{"v":1,"op":"done","id":"msgId","at":"…"}
//
// Records without "v" (version 0, written before the format had a
// version) are still read; a record of a newer version is skipped with a
// warning. An attempt record is written when a turn for the message
// starts, so the number of attempts survives the process dying mid-turn
// (kill -9: the kernel keeps what was written): the gateway gives up on a
// message whose turns keep dying instead of replaying it at every start;
// a release record takes an attempt back when its turn was cancelled
// cleanly by a graceful shutdown. Messages given up on (turns
// that kept dying, or one that timed out) go to deadletter.jsonl with the
// reason.
//
// An Accept's record is written and fdatasynced (fsync where fdatasync is
// not available) before Accept returns, so a message is durable before
// its frame is acked. An Attempt's record rides with the next sync, at
// most DoneDelay later: a power loss in between forgets one attempt,
// never a message, and the turn's start does not wait for the disk. Records
// are written under the inbox's lock and synced after it is released,
// one fdatasync shared by every append that arrived meanwhile (group
// commit). Done records are grouped: Done changes the state in
// memory at once and its record goes out ahead of the next Accept's, in
// the same write and fdatasync, or on its own DoneDelay (100 ms) after
// Done when no Accept comes, or at Flush or Close. A kill -9 can thus lose
// the Done records of at most the last 100 ms without an Accept; those
// messages come back from Pending and are answered a second time. That
// trade saves a sync per answer; it never loses a message. The journal is
// not preallocated: fdatasync after an append still flushes the new size,
// which measured within about 10% of a preallocated file's cost.
//
// Open replays the journal: accepted-but-not-done messages come back from
// Pending, and Seen recognises a message id DingTalk redelivers after the
// restart. A torn
// last line (a crash mid-write) is cut off; a corrupt line elsewhere is
// skipped with a warning, never fatal.
//
// When the journal grows past 10,000 records or 4 MiB it is rewritten
// atomically (temporary file, fsync, rename, fsync of the directory),
// keeping pending messages and the done ids of the last 24 hours; pending
// messages older than 7 days are dropped with a warning.
package inbox
