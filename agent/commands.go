package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"picoclaw"
)

// command is a slash command, handled without the model.
type command int

const (
	cmdNew command = iota + 1
	cmdHelp
	cmdStop
	cmdModel
)

// commandNames maps each accepted spelling (Latin ones lower-case) to its
// command. Chinese aliases count only as the whole message, so "停止" ends
// a turn but "停止使用代理怎么办" is a question for the model.
func commandNames() map[string]command {
	return map[string]command{
		"/new": cmdNew, "/reset": cmdNew, "新会话": cmdNew, "重置": cmdNew,
		"/help": cmdHelp, "帮助": cmdHelp,
		"/stop": cmdStop, "停止": cmdStop,
		"/model": cmdModel,
	}
}

// parseCommand recognises a command in text (mentions already stripped by
// the channel). Leading and trailing space is ignored, Latin commands are
// case-insensitive, and a full-width slash (what Chinese keyboards type)
// counts as "/". Unknown "/xyz" is not a command: it goes to the model.
func parseCommand(text string) (command, bool) {
	t := strings.TrimSpace(text)
	if rest, ok := strings.CutPrefix(t, "／"); ok {
		t = "/" + rest
	}
	c, ok := commandNames()[strings.ToLower(t)]
	return c, ok
}

// IsStopCommand reports whether text asks to stop the running turn. The
// Dispatcher uses it to act on a stop at once instead of queueing it
// behind the turn it is meant to stop.
func IsStopCommand(text string) bool {
	c, ok := parseCommand(text)
	return ok && c == cmdStop
}

const helpText = `可用命令 / Commands:
/new, /reset, 新会话, 重置 — 开始新会话 / start a new conversation
/stop, 停止 — 停止正在进行的回答 / stop the answer in progress
/model — 显示当前模型 / show the current model
/help, 帮助 — 显示本帮助 / show this help`

// Replies to /stop.
const (
	stoppedText    = "已停止。Stopped."
	notRunningText = "当前没有正在进行的任务。Nothing is running."
)

// runCommand answers a command through cfg.Send.
func (a *Agent) runCommand(ctx context.Context, log *slog.Logger, in picoclaw.Inbound, c command) error {
	var text string
	var cmdErr error
	switch c {
	case cmdNew:
		if err := a.cfg.Sessions.Reset(ctx, in.SessionKey()); err != nil {
			log.Error("agent: reset session failed", "err", err)
			cmdErr = fmt.Errorf("agent: command new: %w", err)
			text = "抱歉，没能开始新会话，请稍后再试。Sorry, the conversation could not be reset; please try again."
		} else {
			log.Info("agent: session reset by command")
			text = "已开始新会话。New conversation started."
		}
	case cmdHelp:
		text = helpText
	case cmdStop:
		// Reached only when no Dispatcher intercepted the stop, so no
		// turn of this chat is running.
		text = notRunningText
	case cmdModel:
		tm := a.route(in)
		text = "当前模型 / Current model: " + tm.model
		if tm.entry != "" && tm.entry != tm.model {
			text += fmt.Sprintf(" (model_list: %s)", tm.entry)
		}
	}
	return errors.Join(cmdErr, a.send(ctx, log, in, picoclaw.OutAnswer, text))
}

// StopReply answers a stop command that a Dispatcher intercepted; stopped
// says whether a turn was running. Its signature fits
// DispatcherOptions.OnStop.
func (a *Agent) StopReply(ctx context.Context, in picoclaw.Inbound, stopped bool) {
	text := notRunningText
	if stopped {
		text = stoppedText
	}
	log := a.log.With("session", string(in.SessionKey()), "message_id", in.MessageID)
	_ = a.send(ctx, log, in, picoclaw.OutAnswer, text) // send logs its failure
}

// NewDispatcher returns a Dispatcher running a's turns, with stop commands
// wired to cancel the chat's running turn. Zero fields of opts other than
// IsStop and OnStop take the Dispatcher defaults.
func (a *Agent) NewDispatcher(opts DispatcherOptions) *Dispatcher {
	if opts.IsStop == nil {
		opts.IsStop = func(in picoclaw.Inbound) bool { return IsStopCommand(in.Text) }
	}
	if opts.OnStop == nil {
		opts.OnStop = a.StopReply
	}
	after, prepare := opts.AfterTurn, opts.Prepare
	return NewDispatcher(func(ctx context.Context, in picoclaw.Inbound) {
		if prepare != nil {
			prepare(ctx, &in)
		}
		if opts.Stream != nil {
			ctx = WithStreamSink(ctx, opts.Stream(in))
		}
		err := a.attemptTurns(ctx, in, opts) // Turn logs its failures
		if after != nil {
			after(in, err)
		}
	}, opts)
}
