package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"picoclaw"
)

// Defaults for zero Config fields.
const (
	DefaultMaxHistory  = 50
	DefaultTurnTimeout = 5 * time.Minute
)

// emptyAnswer is sent when the model answered nothing, so the user is never
// left without a reply.
const emptyAnswer = "(empty answer / 模型没有给出回答)"

// Config wires an Agent.
type Config struct {
	Provider picoclaw.Provider     // required
	Sessions picoclaw.SessionStore // required
	// Send delivers an outbound message (usually the channel router).
	Send func(ctx context.Context, out picoclaw.Outbound) error // required

	Workspace   string // holds AGENTS.md, SOUL.md, …; "" for none
	Model       string
	MaxTokens   int
	Temperature *float64
	// MaxHistory is how many messages of history are sent to the model
	// (default DefaultMaxHistory).
	MaxHistory int
	// TurnTimeout bounds loading, the model call and its retries
	// (default DefaultTurnTimeout).
	TurnTimeout time.Duration
	Logger      *slog.Logger     // nil discards
	Now         func() time.Time // nil means time.Now
}

// Agent answers inbound messages. It is safe for concurrent use; the
// Dispatcher keeps the turns of one chat in order.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	prompts *PromptBuilder
	// retryDelays are the waits before the 2nd, 3rd, … model call.
	retryDelays []time.Duration
}

// New checks cfg, fills in defaults and returns an Agent.
func New(cfg Config) (*Agent, error) {
	switch {
	case cfg.Provider == nil:
		return nil, errors.New("agent: new: Config.Provider is required")
	case cfg.Sessions == nil:
		return nil, errors.New("agent: new: Config.Sessions is required")
	case cfg.Send == nil:
		return nil, errors.New("agent: new: Config.Send is required")
	case cfg.MaxHistory < 0:
		return nil, fmt.Errorf("agent: new: Config.MaxHistory is %d, want >= 0", cfg.MaxHistory)
	case cfg.MaxTokens < 0:
		return nil, fmt.Errorf("agent: new: Config.MaxTokens is %d, want >= 0", cfg.MaxTokens)
	case cfg.TurnTimeout < 0:
		return nil, fmt.Errorf("agent: new: Config.TurnTimeout is %s, want >= 0", cfg.TurnTimeout)
	}
	if cfg.MaxHistory == 0 {
		cfg.MaxHistory = DefaultMaxHistory
	}
	if cfg.TurnTimeout == 0 {
		cfg.TurnTimeout = DefaultTurnTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Agent{
		cfg:         cfg,
		log:         cfg.Logger,
		prompts:     NewPromptBuilder(cfg.Workspace),
		retryDelays: []time.Duration{time.Second, 2 * time.Second},
	}, nil
}

// Turn answers one inbound message: it loads the chat's history, asks the
// model, records the exchange and sends the answer (and, as a separate
// OutReasoning message, the model's reasoning). A model failure is answered
// with a short apology, never with silence; a failed session write is
// logged and does not hold back the reply.
//
// Turn logs every failure itself. The returned error (a model failure or a
// failed send) is for callers that need the outcome, such as a CLI exit
// status; they need not log it again.
func (a *Agent) Turn(ctx context.Context, in picoclaw.Inbound) error {
	key := in.SessionKey()
	log := a.log.With("session", string(key), "message_id", in.MessageID)

	// The turn's deadline covers the model; sending and recording use ctx
	// so that a timed-out turn can still apologise.
	turnCtx, cancel := context.WithTimeout(ctx, a.cfg.TurnTimeout)
	defer cancel()

	now := a.cfg.Now()
	history, err := a.cfg.Sessions.Load(turnCtx, key)
	if err != nil {
		log.Error("agent: load history; answering without it", "err", err)
		history = nil
	}
	history = trimHistory(history, a.cfg.MaxHistory)

	system, err := a.prompts.Build(now, in)
	if err != nil {
		log.Warn("agent: some workspace files were left out of the prompt", "err", err)
	}

	user := picoclaw.Message{Role: picoclaw.RoleUser, Content: in.Text, Images: images(in.Attachments), Time: now}
	if !in.Received.IsZero() {
		user.Time = in.Received
	}
	msgs := make([]picoclaw.Message, 0, len(history)+2)
	msgs = append(msgs, picoclaw.Message{Role: picoclaw.RoleSystem, Content: system})
	msgs = append(msgs, history...)
	msgs = append(msgs, user)

	resp, err := a.respond(turnCtx, msgs)
	if err != nil {
		kind, text := apology(err)
		log.Error("agent: model call failed; sending apology", "kind", kind, "err", err)
		a.record(ctx, log, key, user)
		sendErr := a.send(ctx, log, in, picoclaw.OutAnswer, text)
		return errors.Join(fmt.Errorf("agent: turn %s: %w", key, err), sendErr)
	}

	answer := resp.Content
	if strings.TrimSpace(answer) == "" {
		log.Warn("agent: model returned an empty answer", "finish_reason", resp.FinishReason)
		// The placeholder is also what history keeps: some APIs reject
		// empty assistant messages on the next turn.
		answer = emptyAnswer
	}
	a.record(ctx, log, key, user, picoclaw.Message{
		Role:      picoclaw.RoleAssistant,
		Content:   answer,
		Reasoning: resp.Reasoning,
		Time:      a.cfg.Now(),
	})
	log.Info("agent: answered", "prompt_tokens", resp.Usage.PromptTokens,
		"completion_tokens", resp.Usage.CompletionTokens, "answer_len", len(answer))

	errAnswer := a.send(ctx, log, in, picoclaw.OutAnswer, answer)
	var errReasoning error
	if resp.Reasoning != "" {
		errReasoning = a.send(ctx, log, in, picoclaw.OutReasoning, resp.Reasoning)
	}
	return errors.Join(errAnswer, errReasoning)
}

// respond is the seam where the tool loop will go: it will call complete,
// run the requested tools, append their results and call again. Today it
// makes one completion.
func (a *Agent) respond(ctx context.Context, msgs []picoclaw.Message) (*picoclaw.Response, error) {
	return a.complete(ctx, picoclaw.Request{
		Model:       a.cfg.Model,
		Messages:    msgs,
		MaxTokens:   a.cfg.MaxTokens,
		Temperature: a.cfg.Temperature,
	})
}

// record appends msgs to the session. It runs even when ctx is cancelled
// (a shutdown), since the exchange happened; failures are logged only.
func (a *Agent) record(ctx context.Context, log *slog.Logger, key picoclaw.SessionKey, msgs ...picoclaw.Message) {
	if err := a.cfg.Sessions.Append(context.WithoutCancel(ctx), key, msgs...); err != nil {
		log.Error("agent: session write failed; this exchange is missing from history", "err", err)
	}
}

func (a *Agent) send(ctx context.Context, log *slog.Logger, in picoclaw.Inbound, kind picoclaw.OutboundKind, text string) error {
	out := picoclaw.Outbound{
		Channel:  in.Channel,
		Chat:     in.Chat,
		Kind:     kind,
		Text:     text,
		ReplyTo:  in.MessageID,
		SenderID: in.SenderID,
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

func images(atts []picoclaw.Attachment) []picoclaw.Attachment {
	var out []picoclaw.Attachment
	for _, a := range atts {
		if a.Kind == "image" {
			out = append(out, a)
		}
	}
	return out
}
