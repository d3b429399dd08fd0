package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"picoclaw"
)

// DefaultMaxSubagents bounds the sub-agents running at once.
const DefaultMaxSubagents = 4

const spawnToolName = "spawn"

// subagentNote is added to a sub-agent's system prompt.
const subagentNote = "\n## Sub-agent\n\nYou are a sub-agent working in the background on one delegated task. " +
	"Nobody can answer questions while you work: do the task with the tools you have, then reply with the result " +
	"itself, complete and concise. Your reply is posted to the chat as it is."

func spawnDef() picoclaw.ToolDef {
	return picoclaw.ToolDef{
		Name: spawnToolName,
		Description: "Start a sub-agent that works on a task in the background, with the same tools, and posts " +
			"its result to this chat when done. Returns at once. Use it for long, independent work; give the " +
			"task in full, since the sub-agent does not see this conversation.",
		Parameters: json.RawMessage(`{"type":"object","properties":{` +
			`"task":{"type":"string","description":"The complete task for the sub-agent"},` +
			`"label":{"type":"string","description":"A short name for the task, shown with its result"}},` +
			`"required":["task"]}`),
	}
}

// subagents tracks the background sub-agents of an Agent.
type subagents struct {
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	sem    chan struct{}
	seq    atomic.Int64

	mu     sync.Mutex // orders wg.Add against Close's Wait
	closed bool
	wg     sync.WaitGroup
}

func (s *subagents) init(max int) {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.sem = make(chan struct{}, max)
}

// start reserves a slot for a sub-agent, or says why there is none.
func (s *subagents) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("spawn: the assistant is shutting down")
	}
	select {
	case s.sem <- struct{}{}:
	default:
		return fmt.Errorf("spawn: %d sub-agents are already running; wait for one to finish or do the task yourself", cap(s.sem))
	}
	s.wg.Add(1)
	return nil
}

func (s *subagents) done() {
	<-s.sem
	s.wg.Done()
}

// Close cancels the running sub-agents and waits for them to return. Their
// results are not delivered. Spawning after Close fails.
func (a *Agent) Close() {
	a.subs.mu.Lock()
	a.subs.closed = true
	a.subs.mu.Unlock()
	a.subs.cancel()
	a.subs.wg.Wait()
}

type spawnArgs struct {
	Task  string `json:"task"`
	Label string `json:"label"`
}

// spawn is the spawn tool: it starts a sub-agent for the chat of ctx's
// Inbound and returns at once.
func (a *Agent) spawn(ctx context.Context, raw json.RawMessage) (string, error) {
	in, ok := InboundFrom(ctx)
	if !ok {
		return "", errors.New("spawn: no originating chat to deliver the result to")
	}
	var args spawnArgs
	if err := json.Unmarshal(raw, &args); err != nil {
		return "", fmt.Errorf(`spawn: arguments: %w; expected {"task": "…", "label": "…"}`, err)
	}
	args.Task = strings.TrimSpace(args.Task)
	if args.Task == "" {
		return "", errors.New("spawn: task is required")
	}
	label := strings.TrimSpace(args.Label)
	if label == "" {
		label = picoclaw.Title(args.Task, 24)
	}
	if err := a.subs.start(); err != nil {
		return "", err
	}
	id := fmt.Sprintf("sub-%d", a.subs.seq.Add(1))
	go a.runSubagent(id, label, args.Task, in)
	return fmt.Sprintf("started %s (%s); its result will be posted to this chat when it finishes", id, label), nil
}

// runSubagent does the task with a fresh history and the agent's tools
// (spawn excepted), then posts the result, or a short failure note, to the
// originating chat.
func (a *Agent) runSubagent(id, label, task string, in picoclaw.Inbound) {
	defer a.subs.done()
	log := a.log.With("subagent", id, "session", string(in.SessionKey()))
	defer func() {
		if p := recover(); p != nil {
			log.Error("agent: sub-agent panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		}
	}()
	ctx, cancel := context.WithTimeout(a.subs.ctx, a.cfg.TurnTimeout)
	defer cancel()
	ctx = picoclaw.WithRetryBudget(ctx, picoclaw.TurnRetries)
	tm := a.route(in)
	ctx = withTurnModel(ctx, tm)

	now := time.Now()
	system, err := a.promptsOf(tm).Build(now, in)
	if err != nil {
		log.Warn("agent: some workspace files were left out of the prompt", "err", err)
	}
	system += tm.extraPrompt
	log.Info("agent: sub-agent started", "label", label)
	res, err := a.loop(ctx, loopSpec{
		in:      in,
		prefix:  []picoclaw.Message{{Role: picoclaw.RoleSystem, Content: system + subagentNote}},
		user:    picoclaw.Message{Role: picoclaw.RoleUser, Content: task, Time: now},
		tools:   a.toolSet(tm, false),
		maxIter: a.cfg.MaxToolIterations,
		log:     log,
	})
	head := "【" + label + "】\n"
	text := head + res.answer.Content
	if err != nil {
		if a.subs.ctx.Err() != nil {
			log.Info("agent: sub-agent cancelled at shutdown")
			return
		}
		kind, apologyText := apology(err)
		log.Error("agent: sub-agent failed", "kind", kind, "err", err)
		text = head + "子任务失败 / subtask failed: " + apologyText
	} else {
		log.Info("agent: sub-agent finished", "tool_messages", len(res.steps), "answer_len", len(res.answer.Content))
	}
	// ReplyTo stays the spawning message; a channel whose reply route for
	// it has expired falls back to the chat's route.
	_ = a.send(a.subs.ctx, log, in, picoclaw.OutAnswer, text) // send logs its failure
}
