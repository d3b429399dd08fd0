// Package natsstore keeps the state that several gateways of one bot share
// in NATS JetStream: conversation histories, DingTalk reply routes and the
// cron jobs with their firing claims. The inbox, leases and members live
// beside it (package natsqueue's part of the layout, on the same
// connection).
//
// What lives where, with prefix P (default "picoclaw"):
//
//   - stream <UPPER(P)>_SESSIONS, subjects P.session.<key>: one subject per
//     session key (base64url, no padding). Each Append is one message, a
//     versioned JSON record of the new messages, published with the
//     subject's expected last sequence, so a gateway that lost a chat
//     cannot write into it late: its write fails with ErrConflict. A
//     compaction (Replace) or /new (Reset) writes a record with the
//     Nats-Rollup header, which atomically drops the subject's older
//     records. Limits retention, file storage, kept until replaced: a
//     history is never aged out behind the user's back.
//   - stream <UPPER(P)>_DEAD, subjects P.dead.<partition>: messages that
//     could not be processed, kept 30 days for an operator to look at.
//   - KV bucket P_routes: per-key TTL (a route dies with DingTalk's
//     sessionWebhookExpiredTime), keys base64url.
//   - KV bucket P_cron: key "jobs" holds the jobs file (updated by
//     revision, so concurrent edits never overwrite each other), keys
//     fire.<job>.<unix-seconds> are the claims of firings (created once,
//     by exactly one gateway; they expire after an hour).
//
// Open creates or updates all of it on start; it is idempotent and safe
// for several gateways starting at once.
package natsstore
