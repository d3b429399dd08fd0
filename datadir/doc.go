// Package datadir names the gateway's private data directory and the
// places inside it: sessions, the inbox journal, the outbox, channel
// state (routes), cron jobs and received media, one folder per chat.
//
// The data dir is never the workspace: the workspace is what the model's
// tools see, the data dir is what the gateway keeps for itself, and no
// tool may read or write it (see tools.FSOptions.Private). Layout moves
// the old in-workspace layout over once (Migrate), and Lock keeps a
// second gateway off the same directory.
package datadir
