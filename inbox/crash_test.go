package inbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The crash test re-executes the test binary as a child that accepts and
// finishes messages until it is killed with SIGKILL.
const (
	crashDirEnv   = "PICOCLAW_INBOX_CRASH_DIR"
	crashRoundEnv = "PICOCLAW_INBOX_CRASH_ROUND"
	crashSeedEnv  = "PICOCLAW_INBOX_CRASH_SEED"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		os.Exit(crashChild(dir, os.Getenv(crashRoundEnv), os.Getenv(crashSeedEnv)))
	}
	os.Exit(m.Run())
}

// crashChild reports "A id" after each Accept returns, "D id" after each
// Done returns and "F" after each Flush returns, and never stops on its
// own before being killed. Done records are durable from the next A or F.
func crashChild(dir, round, seedText string) int {
	seed, err := strconv.ParseUint(seedText, 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: bad seed:", err)
		return 2
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	cfg := defaultConfig()
	cfg.maxRecords = 40 // compact often, so kills land inside compactions too
	b, err := open(dir, nil, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	var open []string
	for _, in := range b.Pending() { // as the gateway would at start
		open = append(open, in.MessageID)
	}
	for i := range 1_000_000 {
		if rng.IntN(20) == 0 {
			if err := b.Flush(); err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				return 2
			}
			fmt.Fprintln(os.Stdout, "F")
			continue
		}
		if len(open) > 0 && rng.IntN(2) == 0 {
			j := rng.IntN(len(open))
			id := open[j]
			open = append(open[:j], open[j+1:]...)
			if err := b.Done(id); err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				return 2
			}
			fmt.Fprintf(os.Stdout, "D %s\n", id)
			continue
		}
		id := fmt.Sprintf("r%s-%d", round, i)
		if _, err := b.Accept(newInbound(id)); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 2
		}
		fmt.Fprintf(os.Stdout, "A %s\n", id)
		open = append(open, id)
	}
	fmt.Fprintln(os.Stderr, "child: was never killed")
	return 3
}

func TestCrashNoAcceptedMessageLost(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	dir := t.TempDir()
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	accepted := map[string]bool{} // every id whose Accept returned
	done := map[string]bool{}     // every id whose Done is durable: a later Accept or Flush returned
	for round := range 6 {
		killAfter := 1 + rng.IntN(300) // lines read before the kill
		lines := runCrashChild(t, dir, round, seed+uint64(round), killAfter)
		var waiting []string // Done returned, no write since: the window a kill may lose
		for _, l := range lines {
			op, id, _ := strings.Cut(l, " ")
			switch op {
			case "A", "F":
				if op == "A" {
					accepted[id] = true
				}
				for _, d := range waiting {
					done[d] = true
				}
				waiting = waiting[:0]
			case "D":
				waiting = append(waiting, id)
			default:
				t.Fatalf("round %d: child printed %q", round, l)
			}
		}

		b, err := open(dir, nil, defaultConfig())
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		pending := map[string]bool{}
		for _, in := range b.Pending() {
			pending[in.MessageID] = true
		}
		// Seen is "pending or done": an accepted id that is not pending
		// must have been finished, whether or not the child lived to say so.
		for id := range accepted {
			if !b.Seen(id) {
				t.Errorf("round %d: accepted %s lost: neither pending nor done", round, id)
			}
		}
		for id := range done {
			if pending[id] {
				t.Errorf("round %d: %s is pending after its Done was written", round, id)
			}
		}
		// A Done still waiting when the kill came may be lost (the message
		// is answered again), never the message itself.
		for _, id := range waiting {
			if !b.Seen(id) {
				t.Errorf("round %d: %s, done but unwritten, is not even pending", round, id)
			}
		}
		// Only an Accept whose report the kill cut off may be pending
		// without the parent knowing: at most one per round.
		unreported := 0
		for id := range pending {
			if !accepted[id] {
				unreported++
			}
		}
		if unreported > round+1 {
			t.Errorf("round %d: %d pending ids were never reported accepted", round, unreported)
		}
		t.Logf("round %d: killed after %d lines; %d accepted, %d done, %d pending",
			round, len(lines), len(accepted), len(done), len(pending))
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
}

// runCrashChild starts a child on dir, kills it with SIGKILL once it has
// printed killAfter lines, and returns every complete line it printed.
func runCrashChild(t *testing.T, dir string, round int, seed uint64, killAfter int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		crashDirEnv+"="+dir,
		crashRoundEnv+"="+strconv.Itoa(round),
		crashSeedEnv+"="+strconv.FormatUint(seed, 10),
	)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })

	var lines []string
	r := bufio.NewReader(out)
	killed := false
	for {
		l, err := r.ReadString('\n')
		if err != nil {
			// A line cut short by the kill was never fully printed; its
			// Accept may or may not have returned, so it proves nothing.
			if !errors.Is(err, io.EOF) {
				t.Fatalf("read child output: %v", err)
			}
			break
		}
		lines = append(lines, strings.TrimSuffix(l, "\n"))
		if !killed && len(lines) >= killAfter {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("kill child: %v", err)
			}
			killed = true // keep reading what it printed before dying
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !killed || !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("child did not die by the kill (killed=%v, wait: %v); stderr:\n%s", killed, err, stderr.String())
	}
	return lines
}
