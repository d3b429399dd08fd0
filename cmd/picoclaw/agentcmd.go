package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"picoclaw"
	"picoclaw/agent"
)

// cliSession is the CLI's conversation, as in PicoClaw.
const cliSession = picoclaw.SessionKey("cli:default")

func (e *env) agentCommand() *cobra.Command {
	var message string
	var showReasoning bool
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Talk to the agent in the terminal (-m for one message)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("log-level") {
				e.logLevel = "warn" // keep the terminal for the conversation
			}
			return e.agentRun(cmd.Context(), message, showReasoning, cmd.InOrStdin())
		},
	}
	cmd.Flags().StringVarP(&message, "message", "m", "", "send one message, print the answer and exit")
	cmd.Flags().BoolVar(&showReasoning, "show-reasoning", false, "print the model's reasoning to stderr")
	return cmd
}

func (e *env) agentRun(ctx context.Context, message string, showReasoning bool, stdin io.Reader) error {
	log, err := e.logger()
	if err != nil {
		return err
	}
	cfg, cfgPath, err := e.loadConfig(log)
	if err != nil {
		return err
	}
	if err := cfg.CheckModelKeys(cfgPath); err != nil {
		return err
	}
	p, err := openDataDir(cfg, cfgPath, log)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	// Answers to the terminal wait for the end of their turn: a failed
	// turn's answer is the chat users' apology, which the terminal user
	// (the administrator) gets replaced by the cause and the fix.
	var answers []string
	send := func(_ context.Context, out picoclaw.Outbound) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case out.Channel != "cli":
			fmt.Fprintf(e.stderr, "(not delivered to %s %s from the CLI: %s)\n", out.Channel, out.Chat.ID, picoclaw.Title(out.Text, 40))
		case out.Kind == picoclaw.OutReasoning:
			if showReasoning {
				fmt.Fprintf(e.stderr, "💭 %s\n", out.Text)
			}
		default:
			answers = append(answers, out.Text)
		}
		return nil
	}
	rt, err := newRuntime(ctx, cfg, p, log, e.transport(), send)
	if err != nil {
		return err
	}
	defer rt.Close()

	// turn answers text; it returns false when the turn failed.
	turn := func(ctx context.Context, text string) bool {
		err := rt.agent.Turn(ctx, picoclaw.Inbound{
			Channel: "cli", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "default"}, Session: cliSession,
			SenderID: "cli", SenderName: os.Getenv("USER"), MessageID: fmt.Sprintf("cli-%d", time.Now().UnixNano()),
			Text: text, Received: time.Now(),
		})
		mu.Lock()
		got := answers
		answers = nil
		mu.Unlock()
		switch {
		case err == nil:
			for _, a := range got {
				fmt.Fprintln(e.stdout, a)
			}
			return true
		case errors.Is(err, agent.ErrStopped):
			fmt.Fprintln(e.stdout, "(answer cancelled)")
			return true
		case ctx.Err() != nil:
			return false // stopped by a signal: nothing to explain
		default:
			fmt.Fprintln(e.stderr, describeTurnError(err, cfg, cfgPath))
			return false
		}
	}
	if message != "" {
		if !turn(ctx, message) {
			return exitError{code: 1}
		}
		return nil
	}
	return e.repl(ctx, stdin, turn)
}
