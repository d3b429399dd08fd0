package cron

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"picoclaw"
)

// Tool is the model's "cron" tool. It only ever sees the jobs of the chat
// the conversation is in, so that a group cannot list or cancel someone's
// private reminders.
type Tool struct {
	svc    *Service
	origin func(ctx context.Context) (channel string, chat picoclaw.Peer, ok bool)
}

// NewTool returns the cron tool over svc. origin tells which chat the
// current turn came from (the agent reads it from the turn's context);
// ok is false outside a chat, and then the tool refuses to act.
func NewTool(svc *Service, origin func(ctx context.Context) (channel string, chat picoclaw.Peer, ok bool)) *Tool {
	return &Tool{svc: svc, origin: origin}
}

const toolSchema = `{"type":"object","properties":{
"action":{"type":"string","enum":["add","list","remove","enable","disable"],"description":"What to do. Use add whenever the user asks to be reminded or wants something done later or regularly."},
"message":{"type":"string","description":"add: the reminder text to send, or the task to carry out when deliver is false"},
"name":{"type":"string","description":"add: a short name for the job (default: the start of message)"},
"at":{"type":"string","description":"add, one-time: RFC3339 time with offset (2026-12-01T09:00:00+08:00) or a delay such as \"in 10 minutes\""},
"every_seconds":{"type":"integer","description":"add, recurring: interval in seconds (3600 = hourly)"},
"every_minutes":{"type":"integer","description":"add, recurring: interval in minutes"},
"cron_expr":{"type":"string","description":"add, recurring: cron expression minute hour day-of-month month day-of-week, e.g. \"0 9 * * 1-5\" = 09:00 on weekdays"},
"tz":{"type":"string","description":"add with cron_expr: IANA time zone, e.g. Asia/Shanghai (default: the server's)"},
"deliver":{"type":"boolean","description":"add: true (default) sends message as written; false gives message to the assistant as a task and sends its answer"},
"job_id":{"type":"string","description":"remove, enable, disable: the job's id from list"}},
"required":["action"]}`

// Def describes the tool.
func (t *Tool) Def() picoclaw.ToolDef {
	var compact bytes.Buffer
	_ = json.Compact(&compact, []byte(toolSchema)) // the constant is valid JSON (tested)
	return picoclaw.ToolDef{
		Name: "cron",
		Description: "Schedule reminders and recurring tasks for this chat, and list or cancel them. " +
			"When the user asks to be reminded or wants something done later, call add with exactly one of " +
			"at (one-time), every_seconds/every_minutes, or cron_expr.",
		Parameters: json.RawMessage(compact.Bytes()),
	}
}

// number accepts 600 and "600": models send both.
type number float64

func (n *number) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("expected a number, got %s", b)
	}
	*n = number(v)
	return nil
}

type toolArgs struct {
	Action       string `json:"action"`
	Message      string `json:"message"`
	Name         string `json:"name"`
	At           string `json:"at"`
	AtSeconds    number `json:"at_seconds"` // PicoClaw's spelling of a delay
	EverySeconds number `json:"every_seconds"`
	EveryMinutes number `json:"every_minutes"`
	CronExpr     string `json:"cron_expr"`
	TZ           string `json:"tz"`
	Deliver      *bool  `json:"deliver"`
	JobID        string `json:"job_id"`
}

// Call performs one action and returns a short report for the model.
func (t *Tool) Call(ctx context.Context, raw json.RawMessage) (string, error) {
	var a toolArgs
	if err := decodeToolArgs(raw, &a); err != nil {
		return "", err
	}
	channel, chat, ok := "", picoclaw.Peer{}, false
	if t.origin != nil {
		channel, chat, ok = t.origin(ctx)
	}
	if !ok {
		return "", errors.New("cron: no chat is known for this conversation, so jobs cannot be scheduled or listed here")
	}
	action := strings.ToLower(strings.TrimSpace(a.Action))
	switch action {
	case "add":
		return t.add(a, channel, chat)
	case "list":
		return t.list(channel, chat), nil
	case "remove", "enable", "disable":
		return t.change(action, a.JobID, channel, chat)
	case "":
		return "", errors.New(`cron: action is required: "add", "list", "remove", "enable" or "disable"`)
	default:
		return "", fmt.Errorf(`cron: unknown action %q; expected "add", "list", "remove", "enable" or "disable"`, a.Action)
	}
}

func decodeToolArgs(raw json.RawMessage, a *toolArgs) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		// An object encoded twice, as some models send it.
		var inner string
		if json.Unmarshal(raw, &inner) == nil {
			raw = []byte(inner)
		}
	}
	if len(raw) == 0 {
		raw = []byte("{}")
	}
	if err := json.Unmarshal(raw, a); err != nil {
		return fmt.Errorf(`cron: invalid arguments: %w; expected a JSON object like {"action":"add","message":"Stand-up","cron_expr":"0 9 * * 1-5"}`, err)
	}
	return nil
}

func (t *Tool) add(a toolArgs, channel string, chat picoclaw.Peer) (string, error) {
	if strings.TrimSpace(a.Message) == "" {
		return "", errors.New("cron: add: message is required: the reminder text, or the task when deliver is false")
	}
	sc, err := t.schedule(a)
	if err != nil {
		return "", fmt.Errorf("cron: add: %w", err)
	}
	deliver := a.Deliver == nil || *a.Deliver
	job, err := t.svc.Add(Job{Name: a.Name, Message: a.Message, Schedule: sc, Deliver: deliver, Channel: channel, Chat: chat})
	if err != nil {
		return "", err
	}
	how := "sends the message as written"
	if !deliver {
		how = "runs the message as a task and sends the answer"
	}
	return fmt.Sprintf("Scheduled job %s %q: %s, next run %s; it %s.",
		job.ID, job.Name, job.Schedule, job.NextRun.Format(time.RFC3339), how), nil
}

// schedule builds the schedule from the one option given. Zero and empty
// values count as absent: models fill unused parameters with them.
func (t *Tool) schedule(a toolArgs) (Schedule, error) {
	var options []Schedule
	now := t.svc.clock()
	if at := strings.TrimSpace(a.At); at != "" {
		when, err := ParseAt(at, now)
		if err != nil {
			return Schedule{}, err
		}
		options = append(options, Schedule{Kind: KindAt, At: when})
	}
	if a.AtSeconds > 0 {
		d := time.Duration(math.Round(float64(a.AtSeconds))) * time.Second
		options = append(options, Schedule{Kind: KindAt, At: now.Add(d)})
	}
	if a.EverySeconds > 0 || a.EveryMinutes > 0 {
		if a.EverySeconds > 0 && a.EveryMinutes > 0 {
			return Schedule{}, errors.New("give every_seconds or every_minutes, not both")
		}
		secs := float64(a.EverySeconds) + 60*float64(a.EveryMinutes)
		options = append(options, Schedule{Kind: KindEvery, EverySeconds: int64(math.Round(secs))})
	}
	if expr := strings.TrimSpace(a.CronExpr); expr != "" {
		options = append(options, Schedule{Kind: KindCron, Expr: expr, TZ: strings.TrimSpace(a.TZ)})
	} else if strings.TrimSpace(a.TZ) != "" {
		return Schedule{}, errors.New("tz applies only with cron_expr")
	}
	switch len(options) {
	case 0:
		return Schedule{}, errors.New("say when: give one of at, every_seconds, every_minutes or cron_expr")
	case 1:
		return options[0], nil
	default:
		return Schedule{}, errors.New("give only one of at, every_seconds/every_minutes and cron_expr")
	}
}

// ownedBy reports whether job belongs to the chat.
func ownedBy(job Job, channel string, chat picoclaw.Peer) bool {
	return job.Channel == channel && job.Chat == chat
}

func (t *Tool) list(channel string, chat picoclaw.Peer) string {
	var b strings.Builder
	for _, j := range t.svc.List() {
		if !ownedBy(j, channel, chat) {
			continue
		}
		state := "disabled"
		if j.Enabled {
			state = "next run " + j.NextRun.Format(time.RFC3339)
			if j.NextRun.IsZero() {
				state = "enabled, no upcoming run"
			}
		}
		fmt.Fprintf(&b, "- %s %q: %s; %s", j.ID, j.Name, j.Schedule, state)
		if j.LastError != "" {
			fmt.Fprintf(&b, "; last run failed: %s", picoclaw.Title(j.LastError, 120))
		}
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "No scheduled jobs in this chat."
	}
	return "Scheduled jobs in this chat:\n" + b.String()
}

func (t *Tool) change(action, id, channel string, chat picoclaw.Peer) (string, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", fmt.Errorf("cron: %s: job_id is required; call list to see the ids", action)
	}
	mine := false
	for _, j := range t.svc.List() {
		if j.ID == id && ownedBy(j, channel, chat) {
			mine = true
		}
	}
	if !mine {
		return "", fmt.Errorf("cron: %s: no job %q in this chat; call list to see the ids", action, id)
	}
	if action == "remove" {
		if err := t.svc.Remove(id); err != nil {
			return "", err
		}
		return fmt.Sprintf("Removed job %s.", id), nil
	}
	job, err := t.svc.Enable(id, action == "enable")
	if err != nil {
		return "", err
	}
	if job.Enabled {
		return fmt.Sprintf("Enabled job %s %q; next run %s.", job.ID, job.Name, job.NextRun.Format(time.RFC3339)), nil
	}
	return fmt.Sprintf("Disabled job %s %q.", job.ID, job.Name), nil
}
