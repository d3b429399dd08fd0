package cron

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"

	"picoclaw"
)

// Schedule kinds.
const (
	KindAt    = "at"    // once, at Schedule.At
	KindEvery = "every" // every Schedule.EverySeconds
	KindCron  = "cron"  // at the times Schedule.Expr names
)

// MinEverySeconds is the shortest interval accepted: a mistaken
// every_seconds of 1 would otherwise run the agent every second.
const MinEverySeconds = 10

// ErrNotFound is returned for an unknown job id.
var ErrNotFound = errors.New("no such job")

// Schedule says when a job runs. Exactly one of At, EverySeconds and Expr
// is set, as Kind says.
type Schedule struct {
	Kind         string    `json:"kind"`
	At           time.Time `json:"at,omitzero"`
	EverySeconds int64     `json:"every_seconds,omitempty"`
	Expr         string    `json:"expr,omitempty"`
	// TZ is the IANA time zone of Expr, e.g. "Asia/Shanghai"; empty means
	// the process's local zone.
	TZ string `json:"tz,omitempty"`
}

// String describes the schedule in a few words, e.g. "every 10m0s".
func (s Schedule) String() string {
	switch s.Kind {
	case KindAt:
		return "at " + s.At.Format(time.RFC3339)
	case KindEvery:
		return "every " + shortDuration(time.Duration(s.EverySeconds)*time.Second)
	case KindCron:
		if s.TZ != "" {
			return fmt.Sprintf("cron %q (%s)", s.Expr, s.TZ)
		}
		return fmt.Sprintf("cron %q", s.Expr)
	default:
		return "unknown schedule"
	}
}

// shortDuration writes 24h rather than 24h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Job is one scheduled message.
type Job struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Message is the text to deliver, or the prompt to run through the
	// agent when Deliver is false.
	Message  string   `json:"message"`
	Schedule Schedule `json:"schedule"`
	Enabled  bool     `json:"enabled"`
	// Deliver sends Message verbatim; false runs it through the agent and
	// sends the agent's answer.
	Deliver bool   `json:"deliver"`
	Channel string `json:"channel"`
	// Chat is stored as {"kind": "direct"|"group", "id": …}.
	Chat      picoclaw.Peer `json:"-"`
	CreatedAt time.Time     `json:"created_at"`
	LastRun   time.Time     `json:"last_run,omitzero"`
	// NextRun is zero when the job is disabled or will not run again.
	NextRun   time.Time `json:"next_run,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// SessionKey names the chat the job delivers to, e.g. "dingtalk:direct:0123".
func (j Job) SessionKey() picoclaw.SessionKey { return picoclaw.NewSessionKey(j.Channel, j.Chat) }

type chatJSON struct {
	// Kind is the chat kind's text ("direct" or "group"), decoded apart so
	// that an error names the field.
	Kind json.RawMessage `json:"kind"`
	ID   string          `json:"id"`
}

// jobAlias has Job's fields without its methods, so that marshalling it
// does not recurse.
type jobAlias Job

type jobJSON struct {
	jobAlias
	Chat chatJSON `json:"chat"`
}

// MarshalJSON writes the chat as {"kind": "direct"|"group", "id": …}.
func (j Job) MarshalJSON() ([]byte, error) {
	kind, err := json.Marshal(j.Chat.Kind)
	if err != nil {
		return nil, fmt.Errorf("chat.kind: %w", err)
	}
	return json.Marshal(jobJSON{jobAlias: jobAlias(j), Chat: chatJSON{Kind: kind, ID: j.Chat.ID}})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (j *Job) UnmarshalJSON(data []byte) error {
	var w jobJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*j = Job(w.jobAlias)
	j.Chat = picoclaw.Peer{ID: w.Chat.ID}
	if len(w.Chat.Kind) > 0 {
		if err := json.Unmarshal(w.Chat.Kind, &j.Chat.Kind); err != nil {
			return fmt.Errorf("chat.kind: %w", err)
		}
	}
	if j.Chat.Kind == 0 && j.Chat.ID != "" {
		return errors.New(`chat.kind: expected "direct" or "group"`)
	}
	return nil
}

// cronParser accepts the classic five fields and descriptors (@daily).
func cronParser() robfig.Parser {
	return robfig.NewParser(robfig.Minute | robfig.Hour | robfig.Dom | robfig.Month | robfig.Dow | robfig.Descriptor)
}

const cronFormat = `five fields "minute hour day-of-month month day-of-week" such as "0 9 * * 1-5" (09:00 on weekdays), or a descriptor such as "@daily"`

// parseCron checks expr and tz and returns the schedule and its zone.
func parseCron(expr, tz string) (robfig.Schedule, *time.Location, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return nil, nil, fmt.Errorf("schedule.expr: empty; expected %s", cronFormat)
	}
	// The library's own TZ= prefix panics when no field follows it; the
	// zone has its own field anyway.
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, nil, fmt.Errorf("schedule.expr: %q: put the time zone in schedule.tz, not in the expression", expr)
	}
	sched, err := cronParser().Parse(expr)
	if err != nil {
		return nil, nil, fmt.Errorf("schedule.expr: invalid cron expression %q: %w; the format is %s", expr, err, cronFormat)
	}
	loc := time.Local
	if tz != "" {
		if loc, err = time.LoadLocation(tz); err != nil {
			return nil, nil, fmt.Errorf("schedule.tz: unknown time zone %q; expected an IANA name such as \"Asia/Shanghai\": %w", tz, err)
		}
	}
	return sched, loc, nil
}

// validate checks the schedule; an "every" interval must be at least
// minEvery seconds. For "at" it only checks that a time is given: whether
// it is still ahead is the caller's question.
func (s *Schedule) validate(minEvery int64) error {
	switch s.Kind {
	case KindAt:
		if s.At.IsZero() {
			return errors.New(`schedule.at: missing; expected an RFC3339 time such as "2026-12-01T09:00:00+08:00"`)
		}
		if s.EverySeconds != 0 || s.Expr != "" {
			return errors.New(`schedule: an "at" schedule takes only "at"`)
		}
	case KindEvery:
		if s.EverySeconds < minEvery {
			return fmt.Errorf("schedule.every_seconds: %d; expected a whole number of seconds, at least %d", s.EverySeconds, minEvery)
		}
		if !s.At.IsZero() || s.Expr != "" {
			return errors.New(`schedule: an "every" schedule takes only "every_seconds"`)
		}
	case KindCron:
		if !s.At.IsZero() || s.EverySeconds != 0 {
			return errors.New(`schedule: a "cron" schedule takes only "expr" and "tz"`)
		}
		if _, _, err := parseCron(s.Expr, s.TZ); err != nil {
			return err
		}
	default:
		return fmt.Errorf(`schedule.kind: %q; expected "at", "every" or "cron"`, s.Kind)
	}
	if s.TZ != "" && s.Kind != KindCron {
		return errors.New(`schedule.tz: only a "cron" schedule takes a time zone`)
	}
	return nil
}

// next returns the first run strictly after now, or zero if there is none.
// The schedule must be valid.
func (s Schedule) next(now time.Time) time.Time {
	switch s.Kind {
	case KindAt:
		if s.At.After(now) {
			return s.At
		}
	case KindEvery:
		return now.Add(time.Duration(s.EverySeconds) * time.Second)
	case KindCron:
		sched, loc, err := parseCron(s.Expr, s.TZ)
		if err == nil {
			return sched.Next(now.In(loc))
		}
	}
	return time.Time{}
}

// validate checks everything but the schedule's relation to now.
func (j *Job) validate(minEvery int64) error {
	if strings.TrimSpace(j.ID) == "" {
		return errors.New("id: missing")
	}
	if strings.TrimSpace(j.Message) == "" {
		return errors.New("message: missing; expected the text to send or the task for the agent")
	}
	if strings.TrimSpace(j.Channel) == "" {
		return errors.New(`channel: missing; expected a channel name such as "dingtalk"`)
	}
	if j.Chat.Kind != picoclaw.ChatDirect && j.Chat.Kind != picoclaw.ChatGroup {
		return errors.New(`chat.kind: expected "direct" or "group"`)
	}
	if strings.TrimSpace(j.Chat.ID) == "" {
		return errors.New("chat.id: missing")
	}
	return j.Schedule.validate(minEvery)
}
