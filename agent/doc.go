// Package agent turns accepted inbound messages into answers. The
// Dispatcher runs turns (ordered within a chat, parallel across chats,
// bounded) and acts on stop commands at once. A turn handles slash
// commands (/new, /help, /stop, /model and their Chinese aliases) without
// the model; otherwise it builds the system prompt from the workspace,
// compacts the session history when it has grown too long, and runs the
// tool loop: ask the Provider, run the tools it calls (concurrently),
// feed back their results and ask again, up to MaxToolIterations rounds.
// It records the whole exchange and sends the answer and, separately, the
// model's reasoning. The spawn tool runs sub-agents in the background and
// posts their results to the originating chat.
//
// Nothing a model or a tool does can hold a chat (limits.go, poison.go): a
// turn has a wall-clock bound (TurnTimeout) and its tools a shared time
// budget (ToolTimeBudget); at most MaxParallelTools calls run at once; a
// tool deaf to its context is left behind when the time is up; an answer
// is cut off at MaxAnswerBytes (the stream is cancelled there) and tool
// results are capped; a turn that panics is retried once, and a message
// whose turns failed to finish MaxAttempts times (counted on disk through
// DispatcherOptions.Attempt, so a kill -9 counts) is answered with an
// apology and dead-lettered instead of replayed forever.
package agent
