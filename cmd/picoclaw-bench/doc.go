// Command picoclaw-bench measures the picoclaw gateway end to end: it
// builds the stripped binary (or takes --binary), starts an in-process fake
// DingTalk (dingtalktest) and fake OpenAI-compatible model (providertest),
// runs the real gateway as a child process against them and reports
// binary size, start→connected time, idle memory (VmRSS, RssAnon, PSS),
// concurrency (N chats against a slow model) and throughput (answers/s and
// per-message latency against an instant, echoing model).
//
// The fake DingTalk speaks TLS under DingTalk's own names
// (api.dingtalk.com, oapi.dingtalk.com, wss-open-connection.dingtalk.com)
// with a CA made for the run, and the gateway keeps its default
// https://api.dingtalk.com: it gets the CA the way a user would, in
// SSL_CERT_FILE (appended to the system's bundle, so it loads as many
// roots as on a user's machine), and reaches the fake through its
// test-only dial override (PICOCLAW_TEST_ONLY_DIAL_OVERRIDE) or, with
// --netns, through a private /etc/hosts in new user, mount and network
// namespaces where the fake listens on 127.0.0.1:443. --plain serves plain
// HTTP on a free port instead.
//
// --compare BIN runs another gateway binary (PicoClaw's, or an older
// picoclaw) through the same phases in the same run: starts taking turns,
// then each gateway's other phases, one after the other, since both use
// the one fake. Its config comes from --compare-config, a template with
// placeholders (templates/ has PicoClaw v0.2.6's and picoclaw's). It
// implies --netns: another binary knows no dial override.
//
// Usage, from the module root:
//
//	go run ./cmd/picoclaw-bench              # table on stdout, progress on stderr
//	go run ./cmd/picoclaw-bench --json       # the same figures as JSON
//	go run ./cmd/picoclaw-bench --soak 10m   # add a sustained-rate run
//	go run ./cmd/picoclaw-bench --compare ~/picoclaw-v0.2.6 \
//	    --compare-config cmd/picoclaw-bench/templates/picoclaw-v0.2.6.json
//
// Throughput pushes each frame as soon as the previous one is acked, so
// its rate is bounded by the ack round trip (reported too); the gateway's
// CPU per answer is rated against its target (1 ms), and another row
// shows how much of the machine the gateway and the in-process fakes each
// used, since they share it.
//
// --cards gives picoclaw an AI card template the fake knows, so answers
// stream into cards (the tracker matches a finished card to its message
// by the token it echoes), and reports the card API calls per answer of
// the throughput phase (createAndDeliver and streaming updates, refused
// ones included: each counts against DingTalk's API quota).
//
// Memory and CPU figures read /proc/<pid>/status (VmRSS, VmHWM, RssAnon,
// RssFile), /proc/<pid>/smaps_rollup (Pss) and /proc/<pid>/stat, and reset the peak through
// /proc/<pid>/clear_refs, so they are Linux-only; elsewhere they are
// reported as unavailable. VmRSS counts the binary's own mapped pages
// (RssFile: nothing trims them), RssAnon the heap and stacks, which only
// this process holds; PSS shares pages mapped by several processes among
// them. Each gateway's config, workspace and gateway.log are in its own
// folder of the temporary directory, which --keep leaves in place;
// --tmpdir /dev/shm takes the disk's fsync latency out of the figures
// (the binary then counts as RssShmem rather than RssFile). --cpuprofile FILE profiles the bench and its fakes,
// --gateway-cpuprofile FILE the last gateway process (through its hidden
// --cpuprofile flag), for go tool pprof.
//
// The fakes run on the cores the gateway is measured on, so they are kept
// lean: the model fake records no requests and writes each streamed answer
// in one piece rather than flushing every chunk, and replies and acks are
// awaited by index (WaitRepliesFrom, WaitAck) rather than by rescanning.
package main
