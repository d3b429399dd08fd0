// Package inbox is the durable inbox of the gateway: it records every
// accepted inbound message on disk before the channel acknowledges it, and
// records when its answer has been delivered, so that a crash (even
// kill -9) neither loses an accepted message nor answers one twice.
//
// The state lives in one append-only file, journal.jsonl, holding one JSON
// record per line:
//
//	{"op":"accept","id":"msgId","at":"…","in":{…the picoclaw.Inbound…}}
//	{"op":"done","id":"msgId","at":"…"}
//
// Every append is fsynced before Accept or Done returns. Open replays the
// journal: accepted-but-not-done messages come back from Pending, and Seen
// recognises a message id DingTalk redelivers after the restart. A torn
// last line (a crash mid-write) is cut off; a corrupt line elsewhere is
// skipped with a warning, never fatal.
//
// When the journal grows past 10,000 records or 4 MiB it is rewritten
// atomically (temporary file, fsync, rename, fsync of the directory),
// keeping pending messages and the done ids of the last 24 hours; pending
// messages older than 7 days are dropped with a warning.
package inbox
