package agent

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"picoclaw"
	"picoclaw/session"
)

var _ Compactor = (*session.Store)(nil)

// chatHistory returns n messages alternating user/assistant: u0, a1, u2, …
func chatHistory(n int, size int) []picoclaw.Message {
	var h []picoclaw.Message
	for i := range n {
		role, p := picoclaw.RoleUser, "u"
		if i%2 == 1 {
			role, p = picoclaw.RoleAssistant, "a"
		}
		h = append(h, picoclaw.Message{Role: role, Content: fmt.Sprint(p, i) + strings.Repeat(" x", size)})
	}
	return h
}

// isSummaryRequest tells the summary request from a turn's.
func isSummaryRequest(req picoclaw.Request) bool {
	return len(req.Messages) > 0 && req.Messages[0].Content == summarizePrompt
}

func TestCompaction(t *testing.T) {
	ctxErr := fmt.Errorf("openai: %w", picoclaw.ErrContextLength)
	authErr := fmt.Errorf("openai: %w", picoclaw.ErrAuth)
	tests := []struct {
		name    string
		history []picoclaw.Message
		mod     func(*Config)
		// turnErrs are returned by the turn's model calls in order,
		// then "ok"; summaryErr by the summary call.
		turnErrs   []error
		summaryErr error
		wantCalls  []string // "turn" or "summary"
		wantStored []string // content prefixes of the stored history; nil: untouched + the turn
		wantReply  string
	}{
		{
			name:       "message threshold",
			history:    chatHistory(45, 0),
			wantCalls:  []string{"summary", "turn"},
			wantStored: []string{summaryHeading + "SUMMARY", "u34", "a35", "u36", "a37", "u38", "a39", "u40", "a41", "u42", "a43", "u44", testIn.Text, "ok"},
			wantReply:  "ok",
		},
		{
			name:       "token share of the window",
			history:    chatHistory(14, 100),
			mod:        func(c *Config) { c.ContextWindow = 1000 },
			wantCalls:  []string{"summary", "turn"},
			wantStored: []string{summaryHeading + "SUMMARY", "u4", "a5", "u6", "a7", "u8", "a9", "u10", "a11", "u12", "a13", testIn.Text, "ok"},
			wantReply:  "ok",
		},
		{
			name:      "short history is left alone",
			history:   chatHistory(12, 0),
			wantCalls: []string{"turn"},
			wantReply: "ok",
		},
		{
			name:       "failed summary leaves history untouched",
			history:    chatHistory(45, 0),
			summaryErr: authErr,
			wantCalls:  []string{"summary", "turn"},
			wantReply:  "ok",
		},
		{
			name:       "context length error compacts and retries once",
			history:    chatHistory(12, 0),
			turnErrs:   []error{ctxErr},
			wantCalls:  []string{"turn", "summary", "turn"},
			wantStored: []string{summaryHeading + "SUMMARY", "u10", "a11", testIn.Text, "ok"},
			wantReply:  "ok",
		},
		{
			name:       "second context length error is not retried",
			history:    chatHistory(12, 0),
			turnErrs:   []error{ctxErr, ctxErr},
			wantCalls:  []string{"turn", "summary", "turn"},
			wantStored: []string{summaryHeading + "SUMMARY", "u10", "a11", testIn.Text},
			wantReply:  "对话太长",
		},
		{
			name:       "context length error with failed summary",
			history:    chatHistory(12, 0),
			turnErrs:   []error{ctxErr},
			summaryErr: authErr,
			wantCalls:  []string{"turn", "summary"},
			wantReply:  "对话太长",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			turnCalls := 0
			p := &fakeProvider{reply: func(_ context.Context, _ int, req picoclaw.Request) (*picoclaw.Response, error) {
				if isSummaryRequest(req) {
					if tt.summaryErr != nil {
						return nil, tt.summaryErr
					}
					return &picoclaw.Response{Content: "SUMMARY"}, nil
				}
				turnCalls++
				if turnCalls <= len(tt.turnErrs) {
					return nil, tt.turnErrs[turnCalls-1]
				}
				return &picoclaw.Response{Content: "ok"}, nil
			}}
			h := newHarness(t, p, tt.mod)
			key := testIn.SessionKey()
			h.store.msgs[key] = tt.history

			_ = h.agent.Turn(context.Background(), testIn)

			reqs := p.requests()
			var calls []string
			for _, r := range reqs {
				if isSummaryRequest(r) {
					calls = append(calls, "summary")
					if len(r.Tools) != 0 {
						t.Errorf("summary request offered tools")
					}
					if !strings.Contains(r.Messages[1].Content, "user: u0") || strings.Contains(r.Messages[1].Content, "a43") {
						t.Errorf("summary request transcript = %q, want the old part only", r.Messages[1].Content)
					}
				} else {
					calls = append(calls, "turn")
				}
			}
			if !reflect.DeepEqual(calls, tt.wantCalls) {
				t.Errorf("calls = %q, want %q", calls, tt.wantCalls)
			}

			stored := h.store.history(key)
			want := tt.wantStored
			if want == nil { // untouched, plus the turn
				for _, m := range tt.history {
					want = append(want, m.Content)
				}
				want = append(want, testIn.Text)
				if !strings.Contains(tt.wantReply, "太长") {
					want = append(want, "ok")
				}
			}
			var got []string
			for _, m := range stored {
				got = append(got, strings.TrimRight(strings.ReplaceAll(m.Content, " x", ""), " "))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("stored history = %q\nwant %q", got, want)
			}
			if tt.wantStored != nil && stored[0].Role != picoclaw.RoleSystem {
				t.Errorf("summary stored as %s, want system", stored[0].Role)
			}
			if tt.wantStored != nil && stored[1].Role != picoclaw.RoleUser {
				t.Errorf("recent part starts with %s, want a user message", stored[1].Role)
			}

			// The turn after compaction has the summary in its (only)
			// system message.
			last := reqs[len(reqs)-1]
			if tt.wantStored != nil && calls[len(calls)-1] == "turn" {
				if !strings.Contains(last.Messages[0].Content, "SUMMARY") || last.Messages[1].Role == picoclaw.RoleSystem {
					t.Errorf("turn after compaction sent %q, want the summary in the system prompt", brief(last.Messages[:2]))
				}
			}
			if sent := h.out.sent(); len(sent) != 1 || !strings.Contains(sent[0].Text, tt.wantReply) {
				t.Errorf("sent %+v, want %q", sent, tt.wantReply)
			}
		})
	}
}

func TestCompactionKeepsToolCallsWithResults(t *testing.T) {
	p := &fakeProvider{reply: func(_ context.Context, _ int, req picoclaw.Request) (*picoclaw.Response, error) {
		if isSummaryRequest(req) {
			return &picoclaw.Response{Content: "SUMMARY"}, nil
		}
		return &picoclaw.Response{Content: "ok"}, nil
	}}
	h := newHarness(t, p, nil)
	// A long tool round where the 10-message cut would fall.
	hist := chatHistory(30, 0)
	hist = append(hist, picoclaw.Message{Role: picoclaw.RoleUser, Content: "u30"})
	for i := range 6 {
		id := fmt.Sprint("t", i)
		hist = append(hist,
			picoclaw.Message{Role: picoclaw.RoleAssistant, ToolCalls: []picoclaw.ToolCall{{ID: id, Name: "read"}}},
			picoclaw.Message{Role: picoclaw.RoleTool, ToolCallID: id, Content: "r"})
	}
	hist = append(hist, picoclaw.Message{Role: picoclaw.RoleAssistant, Content: "a43"})
	key := testIn.SessionKey()
	h.store.msgs[key] = hist
	if err := h.agent.Turn(context.Background(), testIn); err != nil {
		t.Fatal(err)
	}
	stored := h.store.history(key)
	if stored[0].Role != picoclaw.RoleSystem || stored[1].Content != "u30" || !consistent(stored[1:]) {
		t.Errorf("stored %q, want the summary then the whole tool round from u30", brief(stored))
	}
}

func TestEstimateTokens(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"hello world, how are you", 6}, // 24 bytes / 4
		{"你好世界今天天气怎么样", 11},                    // 33 bytes / 3
		{"请帮我读一下 the file", 9},                 // 27 bytes; 6 of 15 chars CJK → /3
		{"the file 名字 is very long indeed", 8}, // 35 bytes; 2 of 31 chars CJK → /4
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			if got := estimateTokens(tt.text); got != tt.want {
				t.Errorf("estimateTokens(%q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}

func TestSplitPoint(t *testing.T) {
	u, a, tool := picoclaw.RoleUser, picoclaw.RoleAssistant, picoclaw.RoleTool
	mk := func(roles ...picoclaw.Role) []picoclaw.Message {
		var h []picoclaw.Message
		for _, r := range roles {
			h = append(h, picoclaw.Message{Role: r})
		}
		return h
	}
	tests := []struct {
		name string
		h    []picoclaw.Message
		keep int
		want int
	}{
		{"too short", mk(u, a, u, a), 4, 0},
		{"cut at a user message", mk(u, a, u, a, u, a), 2, 4},
		{"moves back to a user message", mk(u, a, u, a, tool, a), 2, 2},
		{"moves forward when none before", mk(u, a, tool, a, tool, u, a), 4, 5},
		{"one long round", mk(u, a, tool, a, tool, a), 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := splitPoint(tt.h, tt.keep); got != tt.want {
				t.Errorf("splitPoint = %d, want %d", got, tt.want)
			}
		})
	}
}
