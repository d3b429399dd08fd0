package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"picoclaw"
	"picoclaw/config"
	"picoclaw/datadir"
	"picoclaw/dingtalk/openapi"
	"picoclaw/dingtalk/stream"
)

// doctorCheckTimeout bounds each network check, so a host that never
// answers makes one FAIL line instead of a hang.
const doctorCheckTimeout = 30 * time.Second

// consoleCredentials is where the fix for wrong app credentials sends
// the user.
const consoleCredentials = "https://open-dev.dingtalk.com → your app → Credentials & Basic Info (凭证与基础信息)"

// doctorReport prints one line per check and counts the failures.
type doctorReport struct {
	w      io.Writer
	failed int
}

func (r *doctorReport) ok(name, detail string) { fmt.Fprintf(r.w, "ok    %s: %s\n", name, detail) }

func (r *doctorReport) warn(name, detail string) { fmt.Fprintf(r.w, "warn  %s: %s\n", name, detail) }

func (r *doctorReport) hint(name, detail string) { fmt.Fprintf(r.w, "hint  %s: %s\n", name, detail) }

func (r *doctorReport) fail(name, detail, fix string) {
	r.failed++
	fmt.Fprintf(r.w, "FAIL  %s: %s — fix: %s\n", name, detail, fix)
}

func (e *env) doctorCommand() *cobra.Command {
	var listen time.Duration
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the config, DingTalk, the model, the folders and the exec sandbox, naming the fix for each failure",
		Long: `doctor checks each piece the gateway needs and prints one line per check:
ok, or FAIL with the exact fix. It asks DingTalk for an access token and opens
(then closes) one Stream connection per enabled bot, sends the model a tiny
request with each API key, and checks that the workspace and the data dir are
writable and the exec sandbox works. Secrets are never printed. The exit code
is 1 when any check failed.

It may run beside a running gateway: its Stream connection acks nothing, so a
message DingTalk hands it is pushed again to the gateway. With --listen it
keeps the connection open that long, so you can message the bot and see
whether DingTalk delivers robot messages at all.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listen < 0 || listen > 10*time.Minute {
				return fmt.Errorf("doctor: --listen: expected a duration from 0 to 10m, got %s", listen)
			}
			r := &doctorReport{w: e.stdout}
			e.doctor(cmd.Context(), r, listen)
			if r.failed > 0 {
				fmt.Fprintf(e.stdout, "\n%d check(s) failed.\n", r.failed)
				return exitError{code: 1}
			}
			fmt.Fprintf(e.stdout, "\nAll checks passed. Start the bot with %s.\n", e.hint("gateway"))
			return nil
		},
	}
	cmd.Flags().DurationVar(&listen, "listen", 0, "keep the Stream connection open this long (e.g. 60s) while you message the bot")
	return cmd
}

// doctor runs every check in order; a config that does not load stops it,
// since every later check reads the config.
func (e *env) doctor(ctx context.Context, r *doctorReport, listen time.Duration) {
	path := e.configPath
	if path == "" {
		path = config.DefaultPath(e.getenv)
	}
	cfg, ok := e.doctorConfig(r, path)
	if !ok {
		return
	}
	hc := &http.Client{Transport: e.transport()}
	e.doctorDingTalk(ctx, r, cfg, path, hc, listen)
	doctorModels(ctx, r, cfg, path, hc)
	doctorStorage(ctx, r, cfg)
	d := cfg.Agents.Defaults
	doctorWritable(r, "workspace", d.Workspace, "agents.defaults.workspace")
	private := []string{path}
	if data, err := datadir.New(d.DataDir); err != nil {
		r.fail("data dir", err.Error(), "set agents.defaults.data_dir to a folder outside the workspace")
	} else {
		doctorWritable(r, "data dir", data.Root(), "agents.defaults.data_dir")
		private = append(private, data.Root())
	}
	doctorExec(ctx, r, cfg, private)
}

// doctorConfig checks that the config file exists, parses, and is private.
func (e *env) doctorConfig(r *doctorReport, path string) (*config.Config, bool) {
	cfg, warnings, err := config.Load(path, e.getenv)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		r.fail("config", path+" not found", fmt.Sprintf("run %s (or %s for the DingTalk app's credentials)", e.hint("onboard"), e.hint("onboard --dingtalk")))
		return nil, false
	case err != nil:
		// The error names each field path and what was expected.
		r.fail("config", strings.ReplaceAll(err.Error(), "\n", "; "), "edit "+path+" as the message says")
		return nil, false
	}
	r.ok("config", fmt.Sprintf("%s loads (version %d)", path, cfg.Version))
	if goruntime.GOOS != "windows" {
		if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
			r.fail("config mode", fmt.Sprintf("%s is readable by others (mode %04o) and holds secrets", path, st.Mode().Perm()), "chmod 600 "+path)
		} else if err == nil {
			r.ok("config mode", fmt.Sprintf("%04o", st.Mode().Perm()))
		}
	}
	for _, w := range warnings {
		if !strings.Contains(w, "chmod 600") { // reported just above
			r.warn("config", strings.TrimPrefix(w, "config: "))
		}
	}
	return cfg, true
}

// doctorDingTalk checks each enabled bot: credentials filled in, the
// token endpoint accepts them, and a Stream connection opens.
func (e *env) doctorDingTalk(ctx context.Context, r *doctorReport, cfg *config.Config, path string, hc *http.Client, listen time.Duration) {
	bots := cfg.EnabledDingTalkBots()
	if len(bots) == 0 {
		r.fail("dingtalk", "no DingTalk bot is enabled", fmt.Sprintf("run %s, or set enabled to true in %s", e.hint("onboard --dingtalk"), path))
		return
	}
	if err := cfg.CheckDingTalk(path); err != nil {
		r.fail("dingtalk credentials", problems(err), fmt.Sprintf("run %s, or copy them from %s", e.hint("onboard --dingtalk"), consoleCredentials))
		return
	}
	for _, b := range bots {
		name := "dingtalk " + b.Section
		creds := b.Path("client_id") + " / " + b.Path("client_secret")
		api, err := openapi.New(openapi.Config{ClientID: b.ClientID, ClientSecret: b.ClientSecret, APIBase: b.APIBase, HTTPClient: hc})
		if err != nil {
			r.fail(name+" token", err.Error(), "check "+b.Path("api_base"))
			continue
		}
		tctx, cancel := context.WithTimeout(ctx, doctorCheckTimeout)
		_, err = api.Token(tctx)
		cancel()
		switch {
		case errors.Is(err, picoclaw.ErrAuth):
			r.fail(name+" token", "DingTalk rejected the app credentials ("+apiCause(err)+")",
				fmt.Sprintf("wrong Client ID/Secret: copy them again from %s into %s (or run %s)", consoleCredentials, creds, e.hint("onboard --dingtalk")))
			continue
		case err != nil:
			r.fail(name+" token", err.Error(), fmt.Sprintf("check the network (proxy variables) and %s (default %s)", b.Path("api_base"), openapi.DefaultAPIBase))
			continue
		}
		r.ok(name+" token", "DingTalk accepted the Client ID and Secret")
		e.doctorStream(ctx, r, b, name, hc, listen)
	}
}

func (e *env) doctorStream(ctx context.Context, r *doctorReport, b config.DingTalkBot, name string, hc *http.Client, listen time.Duration) {
	sc, err := stream.New(stream.Config{
		ClientID: b.ClientID, ClientSecret: b.ClientSecret, APIBase: b.APIBase, HTTPClient: hc,
		Handler: func(*stream.Frame) int { return stream.AckOK }, UserAgent: userAgent(),
	})
	if err != nil {
		r.fail(name+" stream", err.Error(), "check "+b.Path("api_base"))
		return
	}
	if listen > 0 {
		fmt.Fprintf(r.w, "      %s: listening %s: send the bot a message in DingTalk now…\n", name, listen)
	}
	sctx, cancel := context.WithTimeout(ctx, doctorCheckTimeout+listen)
	res, err := sc.Probe(sctx, listen)
	cancel()
	const setup = "in https://open-dev.dingtalk.com → your app, add the Robot (机器人) capability, set its message receiving mode to Stream (Stream 模式) and publish a version"
	switch {
	case errors.Is(err, picoclaw.ErrAuth):
		r.fail(name+" stream", "DingTalk refused the Stream connection although the token call accepted the credentials", "robot capability or Stream mode off: "+setup)
		return
	case err != nil:
		r.fail(name+" stream", err.Error(), fmt.Sprintf("check the network (proxy variables, a firewall that blocks websockets to *.dingtalk.com) and %s", b.Path("api_base")))
		return
	}
	r.ok(name+" stream", "a Stream connection opened (connections/open and the websocket)")
	switch {
	case res.BotMessages > 0:
		r.ok(name+" messages", fmt.Sprintf("%d robot message(s) arrived (not acked: DingTalk pushes them again to the gateway)", res.BotMessages))
	case listen > 0:
		r.hint(name+" messages", fmt.Sprintf("no robot message arrived in %s: if you sent one, the robot capability or Stream mode is off: %s", listen, setup))
	default:
		r.hint(name+" messages", fmt.Sprintf("if messages to the bot never arrive, the robot capability or Stream mode is off: %s; %s shows whether they arrive", setup, e.hint("doctor --listen 60s")))
	}
}

// apiCause is the DingTalk answer inside err ("HTTP 400
// invalidClientIdOrSecret: …"), without this program's wrapping.
func apiCause(err error) string {
	var ae *openapi.Error
	if errors.As(err, &ae) {
		return ae.Error()
	}
	return err.Error()
}

// problems is a config error's problems on one line.
func problems(err error) string {
	var ce *config.Error
	if errors.As(err, &ce) {
		var parts []string
		for _, p := range ce.Problems {
			parts = append(parts, p.Error())
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

// doctorWritable checks that dir (or, before the first start, the folder
// it will be made in) takes a new file.
func doctorWritable(r *doctorReport, name, dir, key string) {
	at := dir
	for {
		st, err := os.Stat(at)
		if err == nil && !st.IsDir() {
			r.fail(name, at+" is not a folder", "point "+key+" at a folder, or move "+at+" away")
			return
		}
		if err == nil {
			break
		}
		parent := filepath.Dir(at)
		if !errors.Is(err, fs.ErrNotExist) || parent == at {
			r.fail(name, fmt.Sprintf("cannot inspect %s: %v", at, err), "point "+key+" at a folder this user can write")
			return
		}
		at = parent
	}
	f, err := os.CreateTemp(at, ".picoclaw-doctor-*")
	if err != nil {
		r.fail(name, fmt.Sprintf("%s is not writable: %v", at, unwrapPath(err)),
			fmt.Sprintf("make it writable by this user (chown $(id -un) %s && chmod 700 %s), or point %s elsewhere", at, at, key))
		return
	}
	_ = f.Close()
	_ = os.Remove(f.Name())
	if at != dir {
		r.ok(name, fmt.Sprintf("%s will be created at the first start (%s is writable)", dir, at))
		return
	}
	r.ok(name, dir+" is writable")
}

// unwrapPath drops the temp file's random name from a create error.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// doctorExec reports how exec would run, probing the sandbox as the
// gateway does at start.
func doctorExec(ctx context.Context, r *doctorReport, cfg *config.Config, private []string) {
	plan := planExec(ctx, cfg, private)
	switch {
	case !cfg.Tools.Exec.Enabled:
		r.ok("exec", plan.reason)
	case !plan.offer:
		r.fail("exec", "the sandbox does not work here, so the exec tool would not be offered: "+plan.reason,
			"run on a Linux kernel with Landlock (5.13+) and unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), or set tools.exec.enabled to false")
	case plan.box == nil:
		r.warn("exec", plan.reason)
	default:
		r.ok("exec", plan.reason)
	}
}
