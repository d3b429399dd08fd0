package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"picoclaw"
)

// isSubagent tells a sub-agent's request from the main turn's.
func isSubagent(req picoclaw.Request) bool {
	return strings.Contains(req.Messages[0].Content, subagentNote)
}

func spawnCall(task, label string) *picoclaw.Response {
	args, _ := json.Marshal(spawnArgs{Task: task, Label: label})
	return &picoclaw.Response{ToolCalls: []picoclaw.ToolCall{{ID: "s1", Name: "spawn", Arguments: args}}}
}

func TestSpawnDeliversResult(t *testing.T) {
	tests := []struct {
		name     string
		label    string
		subReply func(req picoclaw.Request) (*picoclaw.Response, error)
		want     string
	}{
		{
			name:  "result",
			label: "counter",
			subReply: func(picoclaw.Request) (*picoclaw.Response, error) {
				return &picoclaw.Response{Content: "1, 2, 3"}, nil
			},
			want: "【counter】\n1, 2, 3",
		},
		{
			name: "failure",
			subReply: func(picoclaw.Request) (*picoclaw.Response, error) {
				return nil, fmt.Errorf("openai: %w", picoclaw.ErrAuth)
			},
			want: "【count to three】\n子任务失败 / subtask failed: 抱歉，模型服务认证或配置有误",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var subReq picoclaw.Request
			p := &fakeProvider{reply: func(_ context.Context, _ int, req picoclaw.Request) (*picoclaw.Response, error) {
				if isSubagent(req) {
					subReq = req
					return tt.subReply(req)
				}
				if len(req.Messages) == 2 { // the user's message only
					return spawnCall("count to three", tt.label), nil
				}
				return &picoclaw.Response{Content: "working on it"}, nil
			}}
			tools := fakeTools{"echo": func(context.Context, json.RawMessage) (string, error) { return "", nil }}
			h := newHarness(t, p, func(c *Config) { c.Tools = tools })
			h.out.notify = make(chan picoclaw.Outbound, 4)

			if err := h.agent.Turn(context.Background(), testIn); err != nil {
				t.Fatalf("Turn: %v", err)
			}
			first, second := <-h.out.notify, <-h.out.notify
			if first.Text == "working on it" {
				first, second = second, first // the sub-agent may finish first
			}
			if second.Text != "working on it" {
				t.Errorf("turn answered %q", second.Text)
			}
			if !strings.HasPrefix(first.Text, tt.want) || first.Chat != testIn.Chat || first.Kind != picoclaw.OutAnswer {
				t.Errorf("sub-agent sent %+v, want %q to the chat", first, tt.want)
			}
			h.agent.Close()

			if got := toolNames(subReq.Tools); !slices.Equal(got, []string{"echo"}) {
				t.Errorf("sub-agent offered %q, want the tools without spawn", got)
			}
			if got := brief(subReq.Messages[1:]); !slices.Equal(got, []string{"user:count to three"}) {
				t.Errorf("sub-agent history = %q, want only its task", got)
			}
			hist := h.store.history(testIn.SessionKey())
			if len(hist) != 4 || !strings.HasPrefix(hist[2].Content, "started sub-1") {
				t.Errorf("history %q, want the spawn result \"started sub-1 …\"", brief(hist))
			}
		})
	}
}

func TestSpawnLimitAndClose(t *testing.T) {
	entered := make(chan struct{}, 2)
	p := &fakeProvider{reply: func(ctx context.Context, _ int, _ picoclaw.Request) (*picoclaw.Response, error) {
		entered <- struct{}{}
		<-ctx.Done() // a sub-agent that runs until Close
		return nil, ctx.Err()
	}}
	h := newHarness(t, p, func(c *Config) {
		c.Tools = fakeTools{"echo": nil}
		c.MaxSubagents = 1
	})
	ctx := WithInbound(context.Background(), testIn)
	args := json.RawMessage(`{"task":"wait forever"}`)

	got, err := h.agent.spawn(ctx, args)
	if err != nil || got != "started sub-1 (wait forever); its result will be posted to this chat when it finishes" {
		t.Fatalf("spawn = %q, %v", got, err)
	}
	<-entered
	if _, err := h.agent.spawn(ctx, args); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second spawn = %v, want the limit error", err)
	}
	h.agent.Close() // returns only once the sub-agent has
	if _, err := h.agent.spawn(ctx, args); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Errorf("spawn after Close = %v, want refused", err)
	}
	if sent := h.out.sent(); len(sent) != 0 {
		t.Errorf("sent %+v, want nothing from a sub-agent cancelled at shutdown", sent)
	}
}

func TestSpawnBadCalls(t *testing.T) {
	h := newHarness(t, answer("x", ""), func(c *Config) { c.Tools = fakeTools{} })
	ctx := WithInbound(context.Background(), testIn)
	tests := []struct {
		name string
		ctx  context.Context
		args string
		want string
	}{
		{"no originating chat", context.Background(), `{"task":"t"}`, "no originating chat"},
		{"no task", ctx, `{"label":"l"}`, "task is required"},
		{"not JSON", ctx, `[1]`, "expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.agent.spawn(tt.ctx, json.RawMessage(tt.args))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("spawn = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, ok := InboundFrom(context.Background()); ok {
		t.Error("InboundFrom(background) = ok")
	}
	if in, ok := InboundFrom(ctx); !ok || in.MessageID != testIn.MessageID {
		t.Errorf("InboundFrom = %+v, %v", in, ok)
	}
}

func TestSpawnNotOfferedWithoutTools(t *testing.T) {
	for _, mod := range []func(*Config){
		nil,
		func(c *Config) { c.Tools = fakeTools{"echo": nil}; c.NoSpawn = true },
	} {
		p := answer("x", "")
		h := newHarness(t, p, mod)
		if err := h.agent.Turn(context.Background(), testIn); err != nil {
			t.Fatal(err)
		}
		if got := toolNames(p.requests()[0].Tools); slices.Contains(got, "spawn") {
			t.Errorf("tools %q, want no spawn", got)
		}
	}
}
