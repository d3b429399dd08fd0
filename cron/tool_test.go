package cron

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"picoclaw"
)

type originKey struct{}

type origin struct {
	channel string
	chat    picoclaw.Peer
}

// fakeOrigin reads the chat from the context, as the agent's would.
func fakeOrigin(ctx context.Context) (string, picoclaw.Peer, bool) {
	o, ok := ctx.Value(originKey{}).(origin)
	return o.channel, o.chat, ok
}

func inChat(chat picoclaw.Peer) context.Context {
	return context.WithValue(context.Background(), originKey{}, origin{"dingtalk", chat})
}

func call(t *testing.T, tool *Tool, ctx context.Context, args string) (string, error) {
	t.Helper()
	return tool.Call(ctx, json.RawMessage(args))
}

func TestToolDef(t *testing.T) {
	atT0(t, func(t *testing.T) {
		s, _ := newTestService(t)
		d := NewTool(s, fakeOrigin).Def()
		var schema struct {
			Properties map[string]any `json:"properties"`
			Required   []string       `json:"required"`
		}
		if err := json.Unmarshal(d.Parameters, &schema); err != nil {
			t.Fatalf("parameters are not JSON: %v", err)
		}
		for _, p := range []string{"action", "message", "at", "every_seconds", "every_minutes", "cron_expr", "deliver", "job_id"} {
			if _, ok := schema.Properties[p]; !ok {
				t.Errorf("parameter %q missing", p)
			}
		}
		if d.Name != "cron" || len(schema.Required) != 1 || schema.Required[0] != "action" {
			t.Errorf("def = %s %v", d.Name, schema.Required)
		}
	})
}

func TestToolAdd(t *testing.T) {
	tests := []struct {
		name    string
		args    string
		sched   Schedule
		deliver bool
	}{
		{"relative at", `{"action":"add","message":"tea","at":"in 10 minutes"}`,
			Schedule{Kind: KindAt, At: t0.Add(10 * time.Minute)}, true},
		{"rfc3339 at", `{"action":"add","message":"tea","at":"2026-03-03T09:00:00+08:00"}`,
			Schedule{Kind: KindAt, At: time.Date(2026, 3, 3, 1, 0, 0, 0, time.UTC)}, true},
		{"at_seconds", `{"action":"add","message":"tea","at_seconds":600}`,
			Schedule{Kind: KindAt, At: t0.Add(10 * time.Minute)}, true},
		{"every minutes", `{"action":"add","message":"stretch","every_minutes":30,"every_seconds":0,"cron_expr":""}`,
			Schedule{Kind: KindEvery, EverySeconds: 1800}, true},
		{"every seconds as string", `{"action":"add","message":"stretch","every_seconds":"3600"}`,
			Schedule{Kind: KindEvery, EverySeconds: 3600}, true},
		{"cron as task", `{"action":"add","message":"summarise the news","cron_expr":"0 9 * * 1-5","tz":"Asia/Shanghai","deliver":false}`,
			Schedule{Kind: KindCron, Expr: "0 9 * * 1-5", TZ: "Asia/Shanghai"}, false},
		{"double-encoded", `"{\"action\":\"add\",\"message\":\"tea\",\"every_minutes\":5}"`,
			Schedule{Kind: KindEvery, EverySeconds: 300}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			atT0(t, func(t *testing.T) {
				s, _ := newTestService(t)
				out, err := call(t, NewTool(s, fakeOrigin), inChat(alice), tt.args)
				if err != nil {
					t.Fatalf("add: %v", err)
				}
				jobs := s.List()
				if len(jobs) != 1 {
					t.Fatalf("%d jobs, want 1", len(jobs))
				}
				j := jobs[0]
				if j.Schedule.Kind != tt.sched.Kind || !j.Schedule.At.Equal(tt.sched.At) || j.Schedule.EverySeconds != tt.sched.EverySeconds ||
					j.Schedule.Expr != tt.sched.Expr || j.Schedule.TZ != tt.sched.TZ {
					t.Errorf("schedule = %+v, want %+v", j.Schedule, tt.sched)
				}
				if j.Deliver != tt.deliver || j.Channel != "dingtalk" || j.Chat != alice {
					t.Errorf("job = %+v; want deliver %v to dingtalk %+v", j, tt.deliver, alice)
				}
				if !strings.Contains(out, j.ID) || !strings.Contains(out, j.NextRun.Format(time.RFC3339)) {
					t.Errorf("result %q lacks the id or the next run", out)
				}
			})
		})
	}
}

func TestToolErrors(t *testing.T) {
	tests := []struct {
		name string
		ctx  context.Context
		args string
		want string
	}{
		{"no chat", context.Background(), `{"action":"list"}`, "no chat"},
		{"no action", inChat(alice), `{}`, "action is required"},
		{"unknown action", inChat(alice), `{"action":"snooze"}`, `unknown action "snooze"`},
		{"bad json", inChat(alice), `{"action":`, "invalid arguments"},
		{"no message", inChat(alice), `{"action":"add","every_minutes":5}`, "message is required"},
		{"no schedule", inChat(alice), `{"action":"add","message":"x"}`, "one of at, every_seconds"},
		{"two schedules", inChat(alice), `{"action":"add","message":"x","every_minutes":5,"cron_expr":"* * * * *"}`, "only one"},
		{"bad at", inChat(alice), `{"action":"add","message":"x","at":"next tuesday"}`, "RFC3339"},
		{"past at", inChat(alice), `{"action":"add","message":"x","at":"2020-01-01T00:00:00Z"}`, "in the past"},
		{"bad cron", inChat(alice), `{"action":"add","message":"x","cron_expr":"every day"}`, "schedule.expr"},
		{"tz without cron", inChat(alice), `{"action":"add","message":"x","every_minutes":5,"tz":"UTC"}`, "tz applies only"},
		{"remove without id", inChat(alice), `{"action":"remove"}`, "job_id is required"},
		{"remove unknown", inChat(alice), `{"action":"remove","job_id":"nope"}`, `no job "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			atT0(t, func(t *testing.T) {
				s, _ := newTestService(t)
				out, err := call(t, NewTool(s, fakeOrigin), tt.ctx, tt.args)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Call = %q, %v; want an error containing %q", out, err, tt.want)
				}
			})
		})
	}
}

func TestToolListRemoveEnableDisable(t *testing.T) {
	atT0(t, func(t *testing.T) {
		s, _ := newTestService(t)
		tool := NewTool(s, fakeOrigin)
		group := picoclaw.Peer{Kind: picoclaw.ChatGroup, ID: "cidG=="}
		if _, err := call(t, tool, inChat(alice), `{"action":"add","message":"alice's reminder","every_minutes":10}`); err != nil {
			t.Fatal(err)
		}
		if _, err := call(t, tool, inChat(group), `{"action":"add","message":"group digest","cron_expr":"0 9 * * *"}`); err != nil {
			t.Fatal(err)
		}
		var aliceJob, groupJob Job
		for _, j := range s.List() {
			if j.Chat == alice {
				aliceJob = j
			} else {
				groupJob = j
			}
		}

		out, err := call(t, tool, inChat(alice), `{"action":"list"}`)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, aliceJob.ID) || !strings.Contains(out, "alice's reminder") || strings.Contains(out, groupJob.ID) {
			t.Errorf("alice's list = %q; want her job only", out)
		}

		// Another chat's job is invisible: not listed, not changeable.
		for _, action := range []string{"remove", "disable"} {
			if _, err := call(t, tool, inChat(alice), `{"action":"`+action+`","job_id":"`+groupJob.ID+`"}`); err == nil {
				t.Errorf("%s of another chat's job succeeded", action)
			}
		}

		out, err = call(t, tool, inChat(alice), `{"action":"disable","job_id":"`+aliceJob.ID+`"}`)
		if err != nil || !strings.Contains(out, "Disabled") || s.List()[0].Enabled {
			t.Fatalf("disable = %q, %v; job enabled = %v", out, err, s.List()[0].Enabled)
		}
		if out, _ := call(t, tool, inChat(alice), `{"action":"list"}`); !strings.Contains(out, "disabled") {
			t.Errorf("list after disable = %q; want the job shown disabled", out)
		}
		out, err = call(t, tool, inChat(alice), `{"action":"enable","job_id":"`+aliceJob.ID+`"}`)
		if err != nil || !strings.Contains(out, "Enabled") || !s.List()[0].Enabled {
			t.Fatalf("enable = %q, %v", out, err)
		}
		out, err = call(t, tool, inChat(alice), `{"action":"remove","job_id":"`+aliceJob.ID+`"}`)
		if err != nil || !strings.Contains(out, "Removed") {
			t.Fatalf("remove = %q, %v", out, err)
		}
		if out, _ := call(t, tool, inChat(alice), `{"action":"list"}`); !strings.Contains(out, "No scheduled jobs") {
			t.Errorf("list after remove = %q", out)
		}
		if jobs := s.List(); len(jobs) != 1 || jobs[0].ID != groupJob.ID {
			t.Errorf("jobs left = %v, want the group's only", ids(jobs))
		}
	})
}

// TestSecurityCronTargetsOwnChat: a job is always for the chat that asked
// for it; target-looking arguments a hostile prompt adds are ignored, and
// another chat's jobs cannot be seen or changed.
func TestSecurityCronTargetsOwnChat(t *testing.T) {
	atT0(t, func(t *testing.T) {
		s, _ := newTestService(t)
		tool := NewTool(s, fakeOrigin)
		stranger := picoclaw.Peer{Kind: picoclaw.ChatDirect, ID: "stranger"}
		args := `{"action":"add","message":"phish","every_minutes":5,"chat_id":"dingtalk:direct:stranger","channel":"dingtalk","to":"stranger"}`
		if _, err := call(t, tool, inChat(alice), args); err != nil {
			t.Fatal(err)
		}
		jobs := s.List()
		if len(jobs) != 1 || jobs[0].Chat != alice {
			t.Fatalf("jobs = %+v, want one for alice", jobs)
		}
		out, err := call(t, tool, inChat(stranger), `{"action":"list"}`)
		if err != nil || strings.Contains(out, "phish") {
			t.Fatalf("the stranger's list = %q, %v; want alice's job hidden", out, err)
		}
		if _, err := call(t, tool, inChat(stranger), `{"action":"remove","job_id":"`+jobs[0].ID+`"}`); err == nil {
			t.Fatal("the stranger removed alice's job")
		}
		if _, err := call(t, tool, context.Background(), `{"action":"add","message":"x","every_minutes":5}`); err == nil {
			t.Fatal("a job was added outside any chat")
		}
	})
}
