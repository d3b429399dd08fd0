package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"picoclaw"
	"picoclaw/internal/text"
)

// Defaults for zero Config fields.
const (
	DefaultMaxHistory  = 50
	DefaultTurnTimeout = 10 * time.Minute
)

// emptyAnswer is sent when the model answered nothing, so the user is never
// left without a reply.
const emptyAnswer = "(empty answer / 模型没有给出回答)"

// ErrStopped is the cause of a turn cancelled by a stop command.
var ErrStopped = errors.New("agent: turn stopped by the user")

// ErrTurnTimeout is the cause of a turn that ran past Config.TurnTimeout;
// Turn's error wraps it (the user has had an apology).
var ErrTurnTimeout = errors.New("agent: turn timed out")

// ErrShutdown is the cause of a turn cancelled because the process is
// stopping. Such a turn records nothing and sends no apology: the message
// is still pending in the gateway's inbox and is answered after restart.
var ErrShutdown = errors.New("agent: shutting down")

// Config wires an Agent.
type Config struct {
	Provider picoclaw.Provider     // required
	Sessions picoclaw.SessionStore // required; a Compactor enables compaction
	// Send delivers an outbound message (usually the channel router).
	Send func(ctx context.Context, out picoclaw.Outbound) error // required

	// Tools are offered to the model; nil offers none (and no spawn).
	Tools ToolRunner
	// MaxToolIterations bounds the tool rounds of a turn (default
	// DefaultMaxToolIterations).
	MaxToolIterations int
	// NoSpawn leaves the spawn tool out; MaxSubagents bounds the
	// sub-agents running at once (default DefaultMaxSubagents).
	NoSpawn      bool
	MaxSubagents int

	Workspace string // holds AGENTS.md, SOUL.md, …; "" for none
	Model     string
	// ModelEntry is the model_list entry name, shown by /model.
	ModelEntry  string
	MaxTokens   int
	Temperature *float64
	// MaxHistory is how many messages of history are sent to the model
	// (default DefaultMaxHistory).
	MaxHistory int
	// ContextWindow, SummarizeMessageThreshold and SummarizeTokenPercent
	// decide when history is compacted; see compact.go for defaults.
	ContextWindow             int
	SummarizeMessageThreshold int
	SummarizeTokenPercent     int
	// TurnTimeout bounds loading, the model calls, tools and retries
	// (default DefaultTurnTimeout).
	TurnTimeout time.Duration
	// MaxAnswerBytes cuts off an answer (and its reasoning) that grows
	// past it; the answer then ends with TruncatedMark (default
	// DefaultMaxAnswerBytes).
	MaxAnswerBytes int
	// ToolTimeBudget bounds the time all tool rounds of a turn take
	// together (default DefaultToolTimeBudget).
	ToolTimeBudget time.Duration
	Logger         *slog.Logger // nil discards
	// Route, when set, gives each turn its chat's own prompt and model
	// (a group's settings); it is asked at every turn, so its answers
	// may change while the agent runs (a reloaded config).
	Route func(in picoclaw.Inbound) Route
}

// Agent answers inbound messages. It is safe for concurrent use; the
// Dispatcher keeps the turns of one chat in order.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	prompts *PromptBuilder
	// wsPrompts are the prompt builders of Route workspaces, by path.
	wsMu      sync.Mutex
	wsPrompts map[string]*PromptBuilder
	// retryDelays are the waits before the 2nd, 3rd, … model call.
	retryDelays []time.Duration

	subs subagents
}

// New checks cfg, fills in defaults and returns an Agent. Close it to stop
// its sub-agents.
func New(cfg Config) (*Agent, error) {
	switch {
	case cfg.Provider == nil:
		return nil, errors.New("agent: new: Config.Provider is required")
	case cfg.Sessions == nil:
		return nil, errors.New("agent: new: Config.Sessions is required")
	case cfg.Send == nil:
		return nil, errors.New("agent: new: Config.Send is required")
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"MaxHistory", cfg.MaxHistory}, {"MaxTokens", cfg.MaxTokens},
		{"MaxToolIterations", cfg.MaxToolIterations}, {"MaxSubagents", cfg.MaxSubagents},
		{"ContextWindow", cfg.ContextWindow}, {"SummarizeMessageThreshold", cfg.SummarizeMessageThreshold},
		{"SummarizeTokenPercent", cfg.SummarizeTokenPercent}, {"MaxAnswerBytes", cfg.MaxAnswerBytes},
	} {
		if f.v < 0 {
			return nil, fmt.Errorf("agent: new: Config.%s is %d, want >= 0", f.name, f.v)
		}
	}
	if cfg.SummarizeTokenPercent > 100 {
		return nil, fmt.Errorf("agent: new: Config.SummarizeTokenPercent is %d, want <= 100", cfg.SummarizeTokenPercent)
	}
	if cfg.TurnTimeout < 0 {
		return nil, fmt.Errorf("agent: new: Config.TurnTimeout is %s, want >= 0", cfg.TurnTimeout)
	}
	if cfg.ToolTimeBudget < 0 {
		return nil, fmt.Errorf("agent: new: Config.ToolTimeBudget is %s, want >= 0", cfg.ToolTimeBudget)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.MaxHistory, DefaultMaxHistory)
	def(&cfg.MaxToolIterations, DefaultMaxToolIterations)
	def(&cfg.MaxSubagents, DefaultMaxSubagents)
	def(&cfg.ContextWindow, DefaultContextWindow)
	def(&cfg.SummarizeMessageThreshold, DefaultSummarizeMessageThreshold)
	def(&cfg.SummarizeTokenPercent, DefaultSummarizeTokenPercent)
	def(&cfg.MaxAnswerBytes, DefaultMaxAnswerBytes)
	if cfg.TurnTimeout == 0 {
		cfg.TurnTimeout = DefaultTurnTimeout
	}
	if cfg.ToolTimeBudget == 0 {
		cfg.ToolTimeBudget = DefaultToolTimeBudget
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{
		cfg:         cfg,
		log:         cfg.Logger,
		prompts:     NewPromptBuilder(cfg.Workspace),
		retryDelays: []time.Duration{time.Second, 2 * time.Second},
	}
	a.subs.init(cfg.MaxSubagents)
	return a, nil
}

// Turn answers one inbound message. A slash command is handled without the
// model. Otherwise Turn loads the chat's history (compacting it when it has
// grown too long), asks the model, runs the tools it calls until it
// answers, records the whole exchange and sends the answer (and, as one
// separate OutReasoning message, the model's reasoning). A model failure
// is answered with a short apology, never with silence; a turn stopped by
// the user (ctx cancelled with cause ErrStopped) is not. A failed session
// write is logged and does not hold back the reply.
//
// Turn logs every failure itself. The returned error (a model failure or a
// failed send) is for callers that need the outcome, such as a CLI exit
// status; they need not log it again.
func (a *Agent) Turn(ctx context.Context, in picoclaw.Inbound) error {
	key := in.SessionKey()
	log := a.log.With("session", string(key), "message_id", in.MessageID)
	if cmd, ok := parseCommand(in.Text); ok {
		return a.runCommand(ctx, log, in, cmd)
	}

	tm := a.route(in)
	ctx = withTurnModel(ctx, tm)
	// The turn's deadline covers the model; sending and recording use ctx
	// so that a timed-out turn can still apologise.
	turnCtx, cancel := context.WithTimeoutCause(ctx, a.cfg.TurnTimeout, ErrTurnTimeout)
	defer cancel()
	turnCtx = picoclaw.WithRetryBudget(turnCtx, picoclaw.TurnRetries)

	now := time.Now()
	history, err := a.cfg.Sessions.Load(turnCtx, key)
	if err != nil {
		log.Error("agent: load history; answering without it", "err", err)
		history = nil
	}

	system, err := a.promptsOf(tm).Build(now, in)
	if err != nil {
		log.Warn("agent: some workspace files were left out of the prompt", "err", err)
	}
	system += tm.extraPrompt

	user := picoclaw.Message{Role: picoclaw.RoleUser, Content: in.Text, Images: images(in.Attachments), Time: now}
	if !in.Received.IsZero() {
		user.Time = in.Received
	}

	if a.needsCompaction(history, system, user) {
		if h, err := a.compact(turnCtx, key, history, keepRecent); err != nil {
			log.Warn("agent: history compaction failed; keeping it as it is", "err", err)
		} else {
			log.Info("agent: history compacted", "before", len(history), "after", len(h))
			history = h
		}
	}

	res, err := a.loop(turnCtx, loopSpec{
		in:      in,
		sink:    streamSinkFrom(ctx),
		prefix:  a.prefix(system, history),
		user:    user,
		tools:   a.toolSet(tm, true),
		maxIter: a.cfg.MaxToolIterations,
		log:     log,
		shrink: func(ctx context.Context) ([]picoclaw.Message, bool) {
			h, err := a.compact(ctx, key, history, keepRecentForced)
			if err != nil {
				log.Warn("agent: history compaction after a context-length error failed", "err", err)
				return nil, false
			}
			return a.prefix(system, h), true
		},
	})
	if err != nil {
		if errors.Is(context.Cause(ctx), ErrShutdown) {
			log.Info("agent: turn cancelled by shutdown; it will be answered after restart")
			return fmt.Errorf("agent: turn %s: %w", key, ErrShutdown)
		}
		// What the turn did is kept, up to the last whole tool round.
		a.record(ctx, log, key, append([]picoclaw.Message{stored(user)}, res.steps...)...)
		if errors.Is(context.Cause(ctx), ErrStopped) {
			log.Info("agent: turn stopped by the user", "tool_messages", len(res.steps))
			return fmt.Errorf("agent: turn %s: %w", key, ErrStopped)
		}
		timedOut := errors.Is(context.Cause(turnCtx), ErrTurnTimeout)
		if timedOut {
			err = fmt.Errorf("%w (%s): %w", ErrTurnTimeout, a.cfg.TurnTimeout, err)
		}
		kind, text := apology(err)
		if timedOut {
			kind, text = apology(context.DeadlineExceeded)
		}
		log.Error("agent: model call failed; sending apology", "kind", kind, "err", err)
		sendErr := a.sendAnswer(ctx, log, in, text)
		return errors.Join(fmt.Errorf("agent: turn %s: %w", key, err), sendErr)
	}

	msgs := make([]picoclaw.Message, 0, len(res.steps)+2)
	msgs = append(msgs, stored(user))
	msgs = append(msgs, res.steps...)
	msgs = append(msgs, res.answer)
	a.record(ctx, log, key, msgs...)
	log.Info("agent: answered", "prompt_tokens", res.usage.PromptTokens,
		"completion_tokens", res.usage.CompletionTokens, "tool_messages", len(res.steps),
		"answer_len", len(res.answer.Content))

	errAnswer := a.sendAnswer(ctx, log, in, res.answer.Content)
	var errReasoning error
	if len(res.reasoning) > 0 {
		// Each round's reasoning is capped; all of them together are too,
		// so the parts sent for one turn stay bounded.
		reasoning := strings.Join(res.reasoning, "\n\n")
		if len(reasoning) > a.cfg.MaxAnswerBytes {
			reasoning = text.Truncate(reasoning, a.cfg.MaxAnswerBytes) + TruncatedMark
		}
		errReasoning = a.send(ctx, log, in, picoclaw.OutReasoning, reasoning)
	}
	return errors.Join(errAnswer, errReasoning)
}

// toolSet returns the tools of a turn; top-level turns may spawn.
func (a *Agent) toolSet(tm turnModel, top bool) toolSet {
	ts := toolSet{runner: a.cfg.Tools, log: a.log}
	if tm.tools != nil {
		ts.runner = tm.tools
	}
	if top && !a.cfg.NoSpawn && ts.runner != nil {
		ts.spawn = a
	}
	return ts
}

// prefix returns the messages before the user's: one system message (the
// prompt, with any summary of compacted history folded in, since several
// providers accept a system message only at the start) and the recent
// history, trimmed to MaxHistory.
func (a *Agent) prefix(system string, history []picoclaw.Message) []picoclaw.Message {
	rest := make([]picoclaw.Message, 0, len(history))
	for _, m := range history {
		if m.Role == picoclaw.RoleSystem {
			system += "\n\n" + m.Content
			continue
		}
		rest = append(rest, m)
	}
	rest = trimHistory(rest, a.cfg.MaxHistory)
	out := make([]picoclaw.Message, 0, len(rest)+1)
	out = append(out, picoclaw.Message{Role: picoclaw.RoleSystem, Content: system})
	return append(out, rest...)
}

// record appends msgs to the session. It runs even when ctx is cancelled
// (a shutdown), since the exchange happened; failures are logged only.
func (a *Agent) record(ctx context.Context, log *slog.Logger, key picoclaw.SessionKey, msgs ...picoclaw.Message) {
	for i := range msgs {
		if msgs[i].Role == picoclaw.RoleTool {
			msgs[i].Content = capText(msgs[i].Content, maxStoredToolResultBytes, "tool result")
		}
	}
	if err := a.cfg.Sessions.Append(context.WithoutCancel(ctx), key, msgs...); err != nil {
		log.Error("agent: session write failed; this exchange is missing from history", "err", err)
	}
}

func (a *Agent) send(ctx context.Context, log *slog.Logger, in picoclaw.Inbound, kind picoclaw.OutboundKind, text string) error {
	return a.sendOut(ctx, log, in, kind, text, false)
}

// sendAnswer sends the turn's answer (or apology), marked Streamed when
// the turn streamed to a sink, whose card or such it then completes.
func (a *Agent) sendAnswer(ctx context.Context, log *slog.Logger, in picoclaw.Inbound, text string) error {
	return a.sendOut(ctx, log, in, picoclaw.OutAnswer, text, streamSinkFrom(ctx) != nil)
}

func (a *Agent) sendOut(ctx context.Context, log *slog.Logger, in picoclaw.Inbound, kind picoclaw.OutboundKind, text string, streamed bool) error {
	out := picoclaw.Outbound{
		Channel:  in.Channel,
		Chat:     in.Chat,
		Kind:     kind,
		Text:     text,
		ReplyTo:  in.MessageID,
		SenderID: in.SenderID,
		Streamed: streamed,
	}
	if err := a.cfg.Send(ctx, out); err != nil {
		what := "answer"
		if kind == picoclaw.OutReasoning {
			what = "reasoning"
		}
		log.Error("agent: send "+what+" failed", "err", err)
		return fmt.Errorf("agent: send %s: %w", what, err)
	}
	return nil
}

// trimHistory keeps the last max messages, never starting with tool
// results whose call was cut off (providers reject such orphans).
func trimHistory(h []picoclaw.Message, max int) []picoclaw.Message {
	if len(h) > max {
		h = h[len(h)-max:]
	}
	for len(h) > 0 && h[0].Role == picoclaw.RoleTool {
		h = h[1:]
	}
	return h
}

// stored is the user message as the history keeps it. Images are not
// persisted, so a picture sent without text would leave an empty user
// message, which the OpenAI API refuses ("messages[i].content" missing) on
// every later turn of the chat; a line saying a picture came stands in.
func stored(user picoclaw.Message) picoclaw.Message {
	if n := len(user.Images); n > 0 && strings.TrimSpace(user.Content) == "" {
		user.Content = "[the user sent a picture; it is not kept in the history]"
		if n > 1 {
			user.Content = fmt.Sprintf("[the user sent %d pictures; they are not kept in the history]", n)
		}
	}
	return user
}

func images(atts []picoclaw.Attachment) []picoclaw.Attachment {
	var out []picoclaw.Attachment
	for _, a := range atts {
		if a.Kind == "image" && len(a.Data) > 0 {
			out = append(out, a)
		}
	}
	return out
}
