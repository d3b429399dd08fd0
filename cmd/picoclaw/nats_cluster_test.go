package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/internal/testutil"
	"picoclaw/provider/providertest"
)

// natsGateway is one gateway process of a group sharing a bot through
// NATS: its own config file, data dir and workspace, the same bot.
type natsGateway struct {
	name    string
	cfgPath string
	dataDir string
	port    int
	logs    *testutil.SyncBuffer

	mu  sync.Mutex
	cmd *exec.Cmd
}

// natsGroupOptions shapes the gateways' shared config.
type natsGroupOptions struct {
	natsURL  string
	replicas int
	// lease is storage.nats.lease_seconds: how long a dead gateway's chats wait.
	lease int
}

// buildGateway builds the gateway binary once per test, without the race
// detector: several gateways run at once on two cores, and what is under
// test here is their protocol, not their memory model (the packages'
// own tests run under -race).
func buildGateway(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "picoclaw")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// newNATSGateway writes the config of gateway name: the fake DingTalk's
// one bot, the fake model, NATS storage.
func newNATSGateway(t testing.TB, name string, dt *dingtalktest.Server, llm *providertest.OpenAI, o natsGroupOptions) *natsGateway {
	t.Helper()
	dir := t.TempDir()
	g := &natsGateway{name: name, cfgPath: filepath.Join(dir, "config.json"), dataDir: filepath.Join(dir, "data"),
		port: freePort(t), logs: &testutil.SyncBuffer{}}
	cfg := map[string]any{
		"version": 2,
		"agents": map[string]any{"defaults": map[string]any{
			"workspace": filepath.Join(dir, "workspace"), "data_dir": g.dataDir, "model_name": "gpt",
		}},
		"model_list": []any{map[string]any{
			"model_name": "gpt", "model": "openai/gpt-4o-mini", "api_base": llm.URL(), "api_keys": []string{"sk-test-key"},
		}},
		"channels": map[string]any{"dingtalk": map[string]any{
			"enabled": true, "client_id": "test-client-id", "client_secret": "test-client-secret", "api_base": dt.URL(),
		}},
		"gateway": map[string]any{"host": "127.0.0.1", "port": g.port},
		"tools":   map[string]any{"cron": map[string]any{"enabled": true, "min_every_seconds": 1}, "exec": map[string]any{"enabled": false}},
		"storage": map[string]any{"backend": "nats", "nats": map[string]any{
			"url": o.natsURL, "replicas": o.replicas, "lease_seconds": o.lease, "node": name,
		}},
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(g.cfgPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.kill()
		if t.Failed() {
			t.Logf("gateway %s logs (last 8 KiB):\n%s", name, tail(g.logs.String(), 8<<10))
		}
		if dir := os.Getenv("PICOCLAW_E2E_LOGS"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, name+".log"), []byte(g.logs.String()), 0o600)
		}
	})
	return g
}

// start runs the gateway binary; the caller waits for its connection.
func (g *natsGateway) start(t testing.TB, bin string) {
	t.Helper()
	cmd := exec.Command(bin, "gateway", "--config", g.cfgPath, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "HOME="+filepath.Dir(g.cfgPath))
	cmd.Stdout, cmd.Stderr = g.logs, g.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	g.cmd = cmd
	g.mu.Unlock()
}

// kill9 kills the process as a crash would: no cleanup of any kind.
func (g *natsGateway) kill() {
	g.mu.Lock()
	cmd := g.cmd
	g.cmd = nil
	g.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (g *natsGateway) stop(t testing.TB) {
	t.Helper()
	g.mu.Lock()
	cmd := g.cmd
	g.cmd = nil
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("gateway %s: %v", g.name, err)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Errorf("gateway %s did not stop within 60 s of SIGTERM", g.name)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// waitLive waits until the fake DingTalk holds n open sockets.
func waitLive(t testing.TB, dt *dingtalktest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		open := 0
		for _, c := range dt.Connections() {
			if c.Open && !c.Draining {
				open++
			}
		}
		if open >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %d open DingTalk connections: %d open after 60 s", n, open)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chatText is the text of message i of chat c; the fake model answers
// with it, so a reply names its message.
func chatText(c, i int) string { return fmt.Sprintf("chat %03d message %02d", c, i) }

// replyClock notes when the first reply to each message reached the fake
// DingTalk (to within its 25 ms poll).
type replyClock struct {
	dt   *dingtalktest.Server
	mu   sync.Mutex
	at   map[string]time.Time
	done chan struct{}
	wg   sync.WaitGroup
}

func newReplyClock(dt *dingtalktest.Server) *replyClock {
	c := &replyClock{dt: dt, at: map[string]time.Time{}, done: make(chan struct{})}
	c.wg.Go(func() {
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-tick.C:
			}
			now := time.Now()
			counts := dt.ReplyCounts()
			c.mu.Lock()
			for id, n := range counts {
				if _, ok := c.at[id]; !ok && n > 0 {
					c.at[id] = now
				}
			}
			c.mu.Unlock()
		}
	})
	return c
}

func (c *replyClock) stop() {
	select {
	case <-c.done:
	default:
		close(c.done)
	}
	c.wg.Wait()
}

// waitAll waits until every message of msgOf has a reply.
func (c *replyClock) waitAll(msgOf map[string]plannedMsg, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c.mu.Lock()
		left := 0
		for id := range msgOf {
			if _, ok := c.at[id]; !ok {
				left++
			}
		}
		c.mu.Unlock()
		if left == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d messages unanswered after %v", left, len(msgOf), limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// maxLatency is the longest push → first reply of the messages pushed
// between from and to.
func (c *replyClock) maxLatency(pushedAt map[string]time.Time, from, to time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var longest time.Duration
	for id, p := range pushedAt {
		if p.Before(from) || p.After(to) {
			continue
		}
		if r, ok := c.at[id]; ok && r.Sub(p) > longest {
			longest = r.Sub(p)
		}
	}
	return longest
}

// explainMissing logs, for a few unanswered messages, when and where they
// were pushed and what each gateway's log says of them.
func (c *replyClock) explainMissing(t testing.TB, msgOf map[string]plannedMsg, pushedAt map[string]time.Time,
	connOf map[string]string, start time.Time, gws []*natsGateway) {
	c.mu.Lock()
	var missing []string
	for id := range msgOf {
		if _, ok := c.at[id]; !ok {
			missing = append(missing, id)
		}
	}
	c.mu.Unlock()
	for i, id := range missing {
		if i == 8 {
			break
		}
		t.Logf("unanswered %s: chat %d message %d, pushed at +%v on %s, delivered %d times",
			id, msgOf[id].chat, msgOf[id].msg, pushedAt[id].Sub(start).Round(time.Millisecond), connOf[id], len(c.dt.DeliveriesOf(id)))
		for _, g := range gws {
			for _, line := range strings.Split(g.logs.String(), "\n") {
				if strings.Contains(line, id) {
					t.Logf("  %s: %s", g.name, line)
				}
			}
		}
	}
}

// logSlowest logs the n messages that waited longest for their reply.
func (c *replyClock) logSlowest(t testing.TB, pushedAt map[string]time.Time, connOf map[string]string, start time.Time, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	type wait struct {
		id string
		d  time.Duration
	}
	var waits []wait
	for id, p := range pushedAt {
		if r, ok := c.at[id]; ok {
			waits = append(waits, wait{id, r.Sub(p)})
		}
	}
	slices.SortFunc(waits, func(a, b wait) int { return int(b.d - a.d) })
	for _, w := range waits[:min(n, len(waits))] {
		t.Logf("slow: %s pushed at +%v on %s (delivered %d times), answered after %v", w.id,
			pushedAt[w.id].Sub(start).Round(time.Millisecond), connOf[w.id], len(c.dt.DeliveriesOf(w.id)), w.d.Round(time.Millisecond))
	}
}

// cliCron runs `picoclaw cron ARGS…` with gateway g's config and returns
// the job id an add printed.
func cliCron(t testing.TB, bin string, g *natsGateway, args ...string) string {
	t.Helper()
	id, err := runCron(bin, g, args...)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// runCron is cliCron for other goroutines than the test's: it returns
// the error.
func runCron(bin string, g *natsGateway, args ...string) (string, error) {
	cmd := exec.Command(bin, append([]string{"cron"}, append(args, "--config", g.cfgPath)...)...)
	cmd.Env = append(os.Environ(), "HOME="+filepath.Dir(g.cfgPath))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("picoclaw cron %v: %w\n%s", args, err, out)
	}
	if m := regexp.MustCompile(`Added job (\S+)`).FindSubmatch(out); m != nil {
		return string(m[1]), nil
	}
	return "", nil
}

// cronSlots lists the unix seconds of every claimed cron firing, sorted.
func cronSlots(t testing.TB, url string) []int64 {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, "picoclaw_cron")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var slots []int64
	for k := range keys.Keys() {
		if i := strings.LastIndexByte(k, '.'); strings.HasPrefix(k, "fire.") && i > 0 {
			if sec, err := strconv.ParseInt(k[i+1:], 10, 64); err == nil {
				slots = append(slots, sec)
			}
		}
	}
	slices.Sort(slots)
	return slots
}

// ownedPartitions reads /health's storage.queue.owned of gateway g.
func (g *natsGateway) ownedPartitions(t testing.TB) []int {
	owned, _ := g.queueHealth(t)
	return owned
}

// queueHealth reads /health's storage.queue of gateway g: the partitions
// it owns and its messages in flight.
func (g *natsGateway) queueHealth(t testing.TB) (owned []int, inFlight int) {
	t.Helper()
	var resp *http.Response
	var err error
	for try := 0; ; try++ { // a gateway started again may still be starting
		if resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", g.port)); err == nil {
			break
		}
		if try == 300 {
			t.Fatalf("gateway %s /health: %v", g.name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer resp.Body.Close()
	var body struct {
		Storage struct {
			Backend string `json:"backend"`
			Queue   struct {
				Node     string `json:"node"`
				Owned    []int  `json:"owned"`
				InFlight int    `json:"in_flight"`
			} `json:"queue"`
		} `json:"storage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("gateway %s /health: %v", g.name, err)
	}
	if body.Storage.Backend != "nats" || body.Storage.Queue.Node != g.name {
		t.Fatalf("gateway %s /health storage = %+v, want the NATS queue of node %s", g.name, body.Storage, g.name)
	}
	return body.Storage.Queue.Owned, body.Storage.Queue.InFlight
}
