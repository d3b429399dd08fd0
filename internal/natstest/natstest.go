// Package natstest runs NATS servers with JetStream inside a test process:
// one node, or a cluster whose nodes can be stopped and started again on the
// same ports and storage, to test fail-over. It is imported by tests only,
// so the NATS server never reaches the gateway's binary.
package natstest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyWait bounds how long a node may take to accept clients (and, in a
// cluster, its routes) on a loaded machine.
const readyWait = 90 * time.Second

// Cluster is a set of JetStream-enabled NATS nodes, routed to each other
// when there are several.
type Cluster struct {
	tb    testing.TB
	mu    sync.Mutex
	opts  []*server.Options
	nodes []*server.Server // nil while stopped
}

// Start runs a single JetStream node on 127.0.0.1; it stops with the test.
func Start(tb testing.TB) *Cluster { return StartCluster(tb, 1) }

// StartCluster runs n JetStream nodes routed into one cluster (n ≥ 3 gives
// replicated streams a quorum); they stop with the test.
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	if n < 1 {
		tb.Fatalf("natstest: %d nodes, want at least 1", n)
	}
	c := &Cluster{tb: tb, opts: make([]*server.Options, n), nodes: make([]*server.Server, n)}
	clientPorts, routePorts := freePorts(tb, n), freePorts(tb, n)
	dir := tb.TempDir()
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", routePorts[i]))
	}
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       clientPorts[i],
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			NoLog:      true,
			NoSigs:     true,
		}
		if n > 1 {
			o.Cluster = server.ClusterOpts{Name: "picoclaw-test", Host: "127.0.0.1", Port: routePorts[i]}
			o.Routes = server.RoutesFromStr(strings.Join(routes, ","))
		}
		c.opts[i] = o
	}
	// Cluster nodes wait for their routes before they report ready, so all
	// are started before any is waited for.
	for i := range n {
		c.startNode(i)
	}
	for i := range n {
		c.waitReady(i)
	}
	tb.Cleanup(c.Shutdown)
	return c
}

func (c *Cluster) startNode(i int) {
	c.tb.Helper()
	s, err := server.NewServer(c.opts[i])
	if err != nil {
		c.tb.Fatalf("natstest: node %d: %v", i+1, err)
	}
	go s.Start()
	c.mu.Lock()
	c.nodes[i] = s
	c.mu.Unlock()
}

func (c *Cluster) waitReady(i int) {
	c.tb.Helper()
	c.mu.Lock()
	s := c.nodes[i]
	c.mu.Unlock()
	if !s.ReadyForConnections(readyWait) {
		c.tb.Fatalf("natstest: node %d not ready after %v", i+1, readyWait)
	}
	// A clustered JetStream ignores API requests until its meta group has
	// a leader this node follows: wait for that, or the first CreateStream
	// waits out its whole timeout.
	deadline := time.Now().Add(readyWait)
	for len(c.opts) > 1 && !s.JetStreamIsCurrent() {
		if time.Now().After(deadline) {
			c.tb.Fatalf("natstest: node %d's JetStream not current after %v", i+1, readyWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URL is the client URL of every node, comma-separated, as nats.Connect takes it.
func (c *Cluster) URL() string {
	var urls []string
	for _, o := range c.opts {
		urls = append(urls, (&url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", o.Port)}).String())
	}
	return strings.Join(urls, ",")
}

// NodeURL is the client URL of node i (0-based).
func (c *Cluster) NodeURL(i int) string {
	return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port)
}

// Size is the number of nodes, running or stopped.
func (c *Cluster) Size() int { return len(c.opts) }

// Stop shuts node i down as a crash would look to its clients: connections
// drop; its storage stays for Restart.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	s := c.nodes[i]
	c.nodes[i] = nil
	c.mu.Unlock()
	if s != nil {
		s.Shutdown()
		s.WaitForShutdown()
	}
}

// Restart starts a stopped node i again on its ports and storage.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	c.mu.Lock()
	running := c.nodes[i] != nil
	c.mu.Unlock()
	if running {
		c.tb.Fatalf("natstest: node %d is running", i+1)
	}
	c.startNode(i)
	c.waitReady(i)
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	for i := range c.opts {
		c.Stop(i)
	}
}

// freePorts reserves n distinct free TCP ports on 127.0.0.1. They are
// released before the servers bind them; a clash with another process in
// that gap fails the start loudly rather than silently.
func freePorts(tb testing.TB, n int) []int {
	tb.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("natstest: free port: %v", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}
