package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"picoclaw"
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
			fmt.Fprintln(e.stdout, out.Text)
		}
		return nil
	}
	rt, err := newRuntime(ctx, cfg, p, log, e.transport(), send)
	if err != nil {
		return err
	}
	defer rt.Close()

	turn := func(text string) error {
		return rt.agent.Turn(ctx, picoclaw.Inbound{
			Channel: "cli", Chat: picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "default"}, Session: cliSession,
			SenderID: "cli", SenderName: os.Getenv("USER"), MessageID: fmt.Sprintf("cli-%d", time.Now().UnixNano()),
			Text: text, Received: time.Now(),
		})
	}
	if message != "" {
		if err := turn(message); err != nil {
			return exitError{code: 1}
		}
		return nil
	}
	fmt.Fprintln(e.stdout, "picoclaw agent: type a message, /help for commands, Ctrl-D to quit.")
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for {
		fmt.Fprint(e.stdout, "> ")
		if !sc.Scan() {
			fmt.Fprintln(e.stdout)
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
		switch line {
		case "":
			continue
		case "exit", "quit", ":q":
			return nil
		}
		// A failed turn already printed its apology; keep the REPL going.
		_ = turn(line)
		if ctx.Err() != nil {
			return nil
		}
	}
}
