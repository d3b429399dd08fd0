package natstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Procs is a JetStream cluster of nats-server processes, built from the
// module's nats-server without the race detector. End-to-end tests run
// on it: servers inside a race-instrumented test process are several
// times slower and share its fate, which real ones do not.
type Procs struct {
	tb      testing.TB
	bin     string
	mu      sync.Mutex
	args    [][]string
	clients []int
	cmds    []*exec.Cmd // nil while stopped
}

// StartProcesses runs an n-node cluster of nats-server processes on
// 127.0.0.1; they are killed with the test.
func StartProcesses(tb testing.TB, n int) *Procs {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "nats-server")
	build := exec.Command("go", "build", "-o", bin, "github.com/nats-io/nats-server/v2")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("natstest: build nats-server: %v\n%s", err, out)
	}
	p := &Procs{tb: tb, bin: bin, clients: freePorts(tb, n), cmds: make([]*exec.Cmd, n)}
	routePorts := freePorts(tb, n)
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i]))
	}
	dir := tb.TempDir()
	for i := range n {
		args := []string{"-a", "127.0.0.1", "-p", fmt.Sprint(p.clients[i]), "-n", fmt.Sprintf("n%d", i+1),
			"-js", "-sd", filepath.Join(dir, fmt.Sprintf("n%d", i+1))}
		if n > 1 {
			args = append(args, "--cluster_name", "picoclaw-test", "--cluster", routes[i], "--routes", strings.Join(routes, ","))
		}
		p.args = append(p.args, args)
	}
	for i := range n {
		p.start(i)
	}
	for i := range n {
		p.waitReady(i)
	}
	tb.Cleanup(p.Shutdown)
	return p
}

func (p *Procs) start(i int) {
	p.tb.Helper()
	cmd := exec.Command(p.bin, p.args[i]...) // its log goes nowhere
	if err := cmd.Start(); err != nil {
		p.tb.Fatalf("natstest: start node %d: %v", i+1, err)
	}
	p.mu.Lock()
	p.cmds[i] = cmd
	p.mu.Unlock()
}

// waitReady waits until node i serves JetStream requests (in a cluster:
// its meta group has a leader).
func (p *Procs) waitReady(i int) {
	p.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyWait)
	defer cancel()
	for {
		if err := jetStreamReady(ctx, p.NodeURL(i)); err == nil {
			return
		} else if ctx.Err() != nil {
			p.tb.Fatalf("natstest: node %d not ready after %v: %v", i+1, readyWait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func jetStreamReady(ctx context.Context, url string) error {
	nc, err := nats.Connect(url, nats.Timeout(time.Second))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(actx)
	return err
}

// URL is the client URL of every node, comma-separated.
func (p *Procs) URL() string {
	var urls []string
	for i := range p.clients {
		urls = append(urls, p.NodeURL(i))
	}
	return strings.Join(urls, ",")
}

// NodeURL is the client URL of node i (0-based).
func (p *Procs) NodeURL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", p.clients[i]) }

// Size is the number of nodes, running or stopped.
func (p *Procs) Size() int { return len(p.clients) }

// Stop kills node i with SIGKILL, as a crash would; its storage stays.
func (p *Procs) Stop(i int) {
	p.mu.Lock()
	cmd := p.cmds[i]
	p.cmds[i] = nil
	p.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

// Restart starts a stopped node i again on its ports and storage.
func (p *Procs) Restart(i int) {
	p.tb.Helper()
	p.start(i)
	p.waitReady(i)
}

// Shutdown kills every node.
func (p *Procs) Shutdown() {
	for i := range p.clients {
		p.Stop(i)
	}
}
