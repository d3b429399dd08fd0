package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"picoclaw/agent"
)

// repl reads messages from stdin and answers each with turn. An interrupt
// (Ctrl-C, from e.interrupts) cancels the answer in progress and returns
// to the prompt; a second one at an empty prompt, end of input (Ctrl-D)
// or /exit leaves, as does the end of ctx (SIGTERM).
func (e *env) repl(ctx context.Context, stdin io.Reader, turn func(context.Context, string) bool) error {
	lines := make(chan string)
	readDone := make(chan error, 1)
	stopRead := make(chan struct{})
	defer close(stopRead)
	go func() {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stopRead:
				return
			}
		}
		readDone <- sc.Err()
	}()

	fmt.Fprintln(e.stdout, "picoclaw agent: type a message, /help for commands; Ctrl-C stops an answer, Ctrl-D or /exit leaves.")
	interrupted := false // the last thing at the prompt was a Ctrl-C
	for {
		fmt.Fprint(e.stdout, "> ")
		var line string
		select {
		case <-ctx.Done():
			fmt.Fprintln(e.stdout)
			return nil
		case err := <-readDone:
			fmt.Fprintln(e.stdout)
			if err != nil {
				return fmt.Errorf("agent: read stdin: %w", err)
			}
			return nil
		case <-e.interrupts:
			if interrupted {
				fmt.Fprintln(e.stdout)
				return nil
			}
			interrupted = true
			fmt.Fprintln(e.stdout, "\n(Ctrl-C again, Ctrl-D or /exit to leave)")
			continue
		case line = <-lines:
		}
		interrupted = false
		line = strings.TrimSpace(line)
		switch line {
		case "":
			continue
		case "/exit", "/quit", "exit", "quit", ":q":
			return nil
		}
		turnCtx, cancel := context.WithCancelCause(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			turn(turnCtx, line)
		}()
		select {
		case <-done:
		case <-e.interrupts:
			cancel(agent.ErrStopped)
			<-done
		}
		cancel(nil)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// wantsREPL reports whether args start the interactive agent (`agent`
// without -m), whose Ctrl-C must not stop the process.
func (e *env) wantsREPL(args []string) bool {
	root := e.rootCommand()
	cmd, rest, err := root.Find(args)
	if err != nil || cmd.Name() != "agent" {
		return false
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return false
	}
	m := cmd.Flags().Lookup("message")
	h := cmd.Flags().Lookup("help")
	return m != nil && !m.Changed && (h == nil || !h.Changed)
}
