package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"picoclaw"
	"picoclaw/cron"
)

// cronCommand edits <data_dir>/cron/jobs.json. A running gateway notices
// the change within 30 seconds (it watches the file), so no restart is
// needed.
func (e *env) cronCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cron",
		Short: "List, add and remove scheduled messages",
		Long: "Scheduled jobs live in <data_dir>/cron/jobs.json (~/.picoclaw/data by default). A running gateway picks up\n" +
			"changes made here within 30 seconds.",
	}
	cmd.AddCommand(e.cronListCommand(), e.cronAddCommand(), e.cronRemoveCommand(),
		e.cronEnableCommand(true), e.cronEnableCommand(false))
	return cmd
}

// cronService opens the jobs for editing (the data dir's file, or NATS
// with storage.backend "nats"); it never runs them. done closes what it
// opened.
func (e *env) cronService(ctx context.Context) (svc *cron.Service, done func(), err error) {
	log, err := e.logger()
	if err != nil {
		return nil, nil, err
	}
	cfg, cfgPath, err := e.loadConfig(log)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Storage.UsesNATS() {
		st, err := openNATSStore(ctx, cfg, "cli", log)
		if err != nil {
			return nil, nil, err
		}
		opts := st.CronOptions()
		opts.MinEverySeconds = int64(cfg.Tools.Cron.MinEverySeconds)
		svc, err := cron.NewServiceWith(opts, nil, log)
		if err != nil {
			_ = st.Close()
			return nil, nil, err
		}
		return svc, func() { _ = st.Close() }, nil
	}
	p, err := openDataDir(cfg, cfgPath, log)
	if err != nil {
		return nil, nil, err
	}
	svc, err = cron.NewServiceWith(cron.Options{Path: p.data.CronJobs(), MinEverySeconds: int64(cfg.Tools.Cron.MinEverySeconds)}, nil, log)
	return svc, func() {}, err
}

func (e *env) cronListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List scheduled jobs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, done, err := e.cronService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			jobs := svc.List()
			if len(jobs) == 0 {
				fmt.Fprintln(e.stdout, "No scheduled jobs.")
				return nil
			}
			w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tNAME\tSCHEDULE\tNEXT RUN\tENABLED\tCHAT")
			for _, j := range jobs {
				next := "-"
				if !j.NextRun.IsZero() {
					next = j.NextRun.Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%t\t%s\n", j.ID, tabSafe(j.Name), tabSafe(j.Schedule.String()), next, j.Enabled, j.SessionKey())
			}
			return w.Flush()
		},
	}
}

// tabSafe keeps a free-text cell on one line and in its column.
func tabSafe(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

func (e *env) cronAddCommand() *cobra.Command {
	var name, message, every, expr, tz, at, chat string
	var deliver bool
	cmd := &cobra.Command{
		Use:   "add --message TEXT (--every 10m | --cron \"0 9 * * 1-5\" | --at TIME) --chat dingtalk:direct:<id>",
		Short: "Schedule a message",
		Example: `  picoclaw cron add --name standup --message "Stand-up in 5 minutes" --cron "55 9 * * 1-5" --tz Asia/Shanghai --chat dingtalk:group:cidXYZ== --deliver
  picoclaw cron add --message "Summarise today's unread mail" --every 24h --chat dingtalk:direct:0123
  picoclaw cron add --message "Call the bank" --at 2026-12-01T09:00:00+08:00 --chat dingtalk:direct:0123 --deliver`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			channel, peer, err := picoclaw.ParseSessionKey(chat)
			if err != nil {
				return fmt.Errorf("--chat: %w", err)
			}
			if channel != "dingtalk" {
				return fmt.Errorf("--chat: channel %q: this build has only \"dingtalk\"", channel)
			}
			sched, err := cronSchedule(every, expr, tz, at, time.Now())
			if err != nil {
				return err
			}
			svc, done, err := e.cronService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			job, err := svc.Add(cron.Job{Name: name, Message: message, Schedule: sched, Deliver: deliver, Channel: channel, Chat: peer})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Added job %s %q: %s, next run %s.\n", job.ID, job.Name, job.Schedule, job.NextRun.Format(time.RFC3339))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "short name (default: the start of the message)")
	f.StringVar(&message, "message", "", "text to send, or the task for the assistant without --deliver")
	f.StringVar(&every, "every", "", `repeat at this interval, e.g. "10m", "2h"`)
	f.StringVar(&expr, "cron", "", `repeat at the times of a cron expression "minute hour day-of-month month day-of-week"`)
	f.StringVar(&tz, "tz", "", "IANA time zone of --cron, e.g. Asia/Shanghai (default: local)")
	f.StringVar(&at, "at", "", `run once at an RFC3339 time (with offset) or after a delay such as "2h"`)
	f.StringVar(&chat, "chat", "", "target chat: dingtalk:direct:<user id> or dingtalk:group:<conversation id>")
	f.BoolVar(&deliver, "deliver", false, "send the message as written instead of running it through the assistant")
	_ = cmd.MarkFlagRequired("message")
	_ = cmd.MarkFlagRequired("chat")
	return cmd
}

// cronSchedule builds the schedule from the one of --every, --cron and
// --at that is given.
func cronSchedule(every, expr, tz, at string, now time.Time) (cron.Schedule, error) {
	given := 0
	for _, v := range []string{every, expr, at} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return cron.Schedule{}, errors.New("give exactly one of --every, --cron and --at")
	}
	if tz != "" && expr == "" {
		return cron.Schedule{}, errors.New("--tz applies only with --cron")
	}
	switch {
	case every != "":
		secs, err := cron.ParseEvery(every)
		if err != nil {
			return cron.Schedule{}, fmt.Errorf("--%w", err)
		}
		return cron.Schedule{Kind: cron.KindEvery, EverySeconds: secs}, nil
	case at != "":
		when, err := cron.ParseAt(at, now)
		if err != nil {
			return cron.Schedule{}, fmt.Errorf("--%w", err)
		}
		return cron.Schedule{Kind: cron.KindAt, At: when}, nil
	default:
		return cron.Schedule{Kind: cron.KindCron, Expr: expr, TZ: tz}, nil
	}
}

func (e *env) cronRemoveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "remove ID",
		Short: "Delete a scheduled job",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := e.cronService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if err := svc.Remove(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Removed job %s.\n", args[0])
			return nil
		},
	}
}

func (e *env) cronEnableCommand(on bool) *cobra.Command {
	use, short := "enable", "Resume a scheduled job"
	if !on {
		use, short = "disable", "Pause a scheduled job"
	}
	return &cobra.Command{
		Use:   use + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, done, err := e.cronService(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			job, err := svc.Enable(args[0], on)
			if err != nil {
				return err
			}
			if on {
				fmt.Fprintf(e.stdout, "Enabled job %s %q; next run %s.\n", job.ID, job.Name, job.NextRun.Format(time.RFC3339))
			} else {
				fmt.Fprintf(e.stdout, "Disabled job %s %q.\n", job.ID, job.Name)
			}
			return nil
		},
	}
}
