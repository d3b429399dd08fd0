package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"picoclaw/internal/cpuprof"
)

// options are the command-line settings of one bench run.
type options struct {
	binary     string
	starts     int
	idle       time.Duration
	chats      int
	delay      time.Duration
	messages   int
	senders    int
	timeout    time.Duration
	soak       time.Duration
	rate       int
	json       bool
	keep       bool
	tmpDir     string
	logLevel   string
	cpuProfile string
	gwProfile  string
	plain      bool
	netns      bool
	// cards gives picoclaw an AI card template, so that answers stream
	// into cards, and reports the card API calls per answer.
	cards bool
	// compare is another gateway binary run through the same phases.
	compare, compareConfig, compareArgs, compareName string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "picoclaw-bench:", err)
		return 2
	}
	if opts.netns && !inNetns() {
		code, err := reexecInNetns(ctx, args, stdout, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "picoclaw-bench:", err)
			return 1
		}
		return code
	}
	if opts.cpuProfile != "" {
		stopProfile, err := cpuprof.Start(opts.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "picoclaw-bench:", err)
			return 1
		}
		defer stopProfile()
	}
	all, err := bench(ctx, opts, newProgress(stderr))
	if err != nil {
		fmt.Fprintln(stderr, "picoclaw-bench:", err)
		return 1
	}
	rows := all[0].rows(opts)
	switch {
	case opts.json:
		err = writeJSON(stdout, all, opts)
	case len(all) > 1:
		if err = writeCompareTable(stdout, rows, all[1].rows(opts), all[1].Name); err == nil {
			err = writeSummary(stdout, rows)
		}
	default:
		err = writeTable(stdout, rows)
	}
	if err != nil {
		fmt.Fprintln(stderr, "picoclaw-bench:", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("picoclaw-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.binary, "binary", "", "gateway binary to measure (default: build ./cmd/picoclaw stripped)")
	fs.IntVar(&o.starts, "starts", 5, "fresh process starts for start→connected (median)")
	fs.DurationVar(&o.idle, "idle", 5*time.Second, "idle time before reading idle RSS")
	fs.IntVar(&o.chats, "chats", 50, "concurrency: private chats sending one message each at once")
	fs.DurationVar(&o.delay, "delay", time.Second, "concurrency: the fake model's time per answer")
	fs.IntVar(&o.messages, "messages", 2000, "throughput: messages to send")
	fs.IntVar(&o.senders, "senders", 200, "throughput and soak: chats the messages go round")
	fs.DurationVar(&o.timeout, "timeout", 60*time.Second, "how long to wait for answers before counting them lost")
	fs.DurationVar(&o.soak, "soak", 0, "also send --rate messages/s for this long (0: skip)")
	fs.IntVar(&o.rate, "rate", 50, "soak: messages per second")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory (config, workspace, gateway.log)")
	fs.StringVar(&o.tmpDir, "tmpdir", "", "where to make the temporary directory, e.g. /dev/shm to take the disk's fsync out (default $TMPDIR)")
	fs.StringVar(&o.logLevel, "log-level", "info", "the gateway's --log-level")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of this process (the fakes) to FILE")
	fs.StringVar(&o.gwProfile, "gateway-cpuprofile", "", "write a CPU profile of the last gateway process (idle to shutdown) to FILE")
	fs.BoolVar(&o.plain, "plain", false, "serve the fake DingTalk over plain HTTP on 127.0.0.1 (default: TLS under DingTalk's host names)")
	fs.BoolVar(&o.cards, "cards", false, "give picoclaw an AI card template (channels.dingtalk.card_template_id): answers stream into cards, "+
		"and the report counts the card API calls per answer")
	fs.BoolVar(&o.netns, "netns", false, "run in private user, mount and network namespaces, where DingTalk's names resolve to the fake on 127.0.0.1:443 "+
		"through a private /etc/hosts (needs root or unprivileged user namespaces; implied by --compare)")
	fs.StringVar(&o.compare, "compare", "", "also measure this gateway `BINARY` (e.g. PicoClaw's), interleaved, and print both with their ratios")
	fs.StringVar(&o.compareConfig, "compare-config", "", "config `TEMPLATE` of the --compare binary; placeholders:\n"+strings.Join(placeholderDoc, "\n"))
	fs.StringVar(&o.compareArgs, "compare-args", "gateway", "command line of the --compare binary ({{config}} is its config file)")
	fs.StringVar(&o.compareName, "compare-name", "", "column name of the --compare binary (default: its file name)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"starts", o.starts}, {"chats", o.chats}, {"messages", o.messages}, {"senders", o.senders}, {"rate", o.rate}} {
		if f.v < 1 {
			return o, fmt.Errorf("--%s must be at least 1, got %d", f.name, f.v)
		}
	}
	if o.compare != "" {
		if o.compareConfig == "" {
			return o, errors.New("--compare needs --compare-config, the other gateway's config template")
		}
		if o.plain {
			return o, errors.New("--compare runs over TLS in a network namespace; drop --plain")
		}
		o.netns = true // the other binary knows no dial override: DingTalk's names must resolve to the fake
	}
	if o.netns && o.plain {
		return o, errors.New("--netns serves DingTalk's names over TLS; drop --plain")
	}
	if o.timeout <= 0 || o.delay < 0 || o.idle < 0 || o.soak < 0 {
		return o, errors.New("--timeout must be positive; --delay, --idle and --soak not negative")
	}
	return o, nil
}
