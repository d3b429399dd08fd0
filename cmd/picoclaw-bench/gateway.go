package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// stopGrace is how long a stopped gateway may take to exit before it is
// killed; the gateway itself allows running turns 20 s.
const stopGrace = 25 * time.Second

// gateway is one running child process.
type gateway struct {
	sub  *subject
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid once done is closed
	// ctx ends when the process exits, so phases stop waiting on a dead
	// gateway.
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// start execs the gateway of sub and waits until the fake DingTalk has
// accepted its stream socket; it returns the time from exec to that
// moment.
func (h *harness) start(ctx context.Context, sub *subject) (*gateway, time.Duration, error) {
	logf, err := os.OpenFile(sub.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("bench: open gateway log: %w", err)
	}
	cmd := exec.Command(sub.binary, sub.args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, sub.dir
	cmd.Env = append(append(childEnv(), h.env...), sub.env...)
	detach(cmd)
	before := h.dt.ConnectionCount()

	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, 0, fmt.Errorf("bench: start gateway: %w", err)
	}
	g := &gateway{sub: sub, cmd: cmd, log: logf, done: make(chan struct{})}
	g.ctx, g.cancel = context.WithCancelCause(context.Background())
	go func() {
		g.err = cmd.Wait()
		g.cancel(fmt.Errorf("bench: gateway %s exited (%v); see %s", sub.name, g.err, sub.logPath))
		close(g.done)
	}()

	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stop := context.AfterFunc(g.ctx, cancel)
	defer stop()
	if err := h.dt.WaitConnections(wctx, before+1); err != nil {
		elapsed := time.Since(t0)
		g.stop()
		if cause := context.Cause(g.ctx); cause != nil {
			return nil, 0, cause
		}
		return nil, 0, fmt.Errorf("bench: gateway %s did not connect within %s: %w", sub.name, elapsed.Round(time.Millisecond), err)
	}
	return g, time.Since(t0), nil
}

// pid is the gateway's process id.
func (g *gateway) pid() int { return g.cmd.Process.Pid }

// stop asks the gateway to shut down (SIGTERM, as systemd does), kills it
// after stopGrace, and reports an unclean exit.
func (g *gateway) stop() error {
	defer g.log.Close()
	select {
	case <-g.done:
		return g.exitErr()
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-g.done:
		return g.exitErr()
	case <-t.C:
		_ = g.cmd.Process.Kill()
		<-g.done
		return fmt.Errorf("bench: gateway did not exit within %s of SIGTERM; killed", stopGrace)
	}
}

func (g *gateway) exitErr() error {
	var ee *exec.ExitError
	if errors.As(g.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && g.sub.sigtermExitOK && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
		return fmt.Errorf("bench: gateway exited: %w", g.err)
	}
	return g.err
}
