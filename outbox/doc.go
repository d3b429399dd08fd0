// Package outbox is the gateway's durable outbox: an answer is handed to
// it once the agent has produced it, and it stays on disk until the
// channel reports that the service (DingTalk) accepted it, or until it
// failed for good.
//
// Put writes the answer to outbox.jsonl and it is fdatasynced before Put
// returns, so that a crash, even kill -9, after Put loses nothing: Open
// reads the file back and delivery resumes. Answers of one chat are
// delivered one at a time in the order they were put (a later answer
// waits behind an undelivered one); chats do not wait for each other.
//
// An answer may go out in several parts (the channel splits long text).
// The channel reports each accepted part and the outbox records it
// (fdatasynced) before the next part is sent, so a retry or a restart
// resumes after the last accepted part and never sends one twice. The
// last part needs no record of its own: the answer's done record covers
// it (or a sent record, if the attempt reports a failure anyway). Only a
// crash between DingTalk's answer and that record can repeat a part. The
// done record is written at once, so the process dying (even kill -9)
// keeps it, and fdatasynced with the file's next sync (usually the next
// answer's put) or 100 ms later: only a power loss in that window sends
// the answer again, a window the inbox's own done records already have.
// A later record's sync covers every earlier write, so answers of a chat
// are never recorded out of order.
//
// Records are written under the outbox's lock and fdatasynced after it
// is released, one sync shared by every append that arrived meanwhile
// (group commit), so chats do not queue behind each other's disk
// flushes. An answer is delivered only once its put record is durable.
//
// A failure whose error kind says retrying may help (picoclaw.ErrTemporary,
// *picoclaw.RateLimitError, a timed-out attempt) is retried with
// exponential backoff, waiting at least the RetryAfter the peer asked for,
// across restarts, without limit. Any other failure is permanent (a 4xx
// retrying cannot fix, a chat that cannot be reached): it is logged with
// its cause, counted, and the answer is moved to dead.jsonl, so an
// operator can see what was not delivered and why.
//
// The file format is versioned JSON lines, one record per line (see
// record), independent of Go field names:
//
//	{"v":1,"op":"put","id":7,"at":"…","out":{"channel":"dingtalk","chat_kind":"direct",…}}
//	{"v":1,"op":"sent","id":7,"at":"…","parts":2}
//	{"v":1,"op":"done","id":7,"at":"…"}
//	{"v":1,"op":"drop","id":7,"at":"…","reason":"…"}
//
// The file is rewritten atomically (keeping only undelivered answers)
// once it holds more than a few thousand records. Files are 0600 in a
// 0700 directory.
package outbox
