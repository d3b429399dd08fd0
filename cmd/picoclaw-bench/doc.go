// Command picoclaw-bench measures the picoclaw gateway end to end: it
// builds the stripped binary (or takes --binary), starts an in-process fake
// DingTalk (dingtalktest) and fake OpenAI-compatible model (providertest)
// on 127.0.0.1, runs the real gateway as a child process against them and
// reports binary size, start→connected time, idle and peak memory,
// concurrency (N chats against a slow model) and throughput (answers/s and
// per-message latency against an instant, echoing model).
//
// Usage, from the module root:
//
//	go run ./cmd/picoclaw-bench              # table on stdout, progress on stderr
//	go run ./cmd/picoclaw-bench --json       # the same figures as JSON
//	go run ./cmd/picoclaw-bench --soak 10m   # add a sustained-rate run
//
// Throughput pushes each frame as soon as the previous one is acked, so
// its rate is bounded by the ack round trip (reported too); the CPU row
// shows how much of the machine the gateway and the in-process fakes each
// used, since they share it.
//
// Memory and CPU figures read /proc/<pid>/status (VmRSS, VmHWM, RssAnon,
// RssFile) and /proc/<pid>/stat, and reset the peak through
// /proc/<pid>/clear_refs, so they are Linux-only; elsewhere they are
// reported as unavailable. RSS counts the binary's own mapped pages
// (RssFile), which are clean and shared; RssAnon is the heap and stacks.
// The gateway's log goes to gateway.log in the temporary directory, which
// --keep leaves in place; --tmpdir /dev/shm takes the disk's fsync latency
// out of the figures. --cpuprofile FILE profiles the bench and its fakes,
// --gateway-cpuprofile FILE the last gateway process (through its hidden
// --cpuprofile flag), for go tool pprof.
//
// The fakes run on the cores the gateway is measured on, so they are kept
// lean: the model fake records no requests and writes each streamed answer
// in one piece rather than flushing every chunk, and replies and acks are
// awaited by index (WaitRepliesFrom, WaitAck) rather than by rescanning.
package main
