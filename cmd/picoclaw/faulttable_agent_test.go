package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/inbox"
	"picoclaw/provider/providertest"
)

// Fault-table rows on the model and tool side, end to end through the
// real gateway (in-process) with the fake DingTalk and the fake LLM.

// lastMessage is the last message of a model request.
func lastMessage(r providertest.RecordedRequest) providertest.RecordedMessage {
	return r.Messages[len(r.Messages)-1]
}

// LLM 429 with Retry-After: the call is retried after the delay it asks
// for and the user gets the answer, once.
func TestFaultTableLLMRateLimitRetryAfter(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	var mu sync.Mutex
	var at []time.Time
	h.llm.SetHandler(func(r providertest.RecordedRequest) providertest.Reply {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		if len(at) == 1 {
			return providertest.OpenAIRateLimited("2")
		}
		return providertest.Reply{Content: "answer to " + r.LastUser()}
	})
	h.start()
	h.push(dingtalktest.BotMessage{Text: "hello"})
	if got := h.waitReplies(1); got[0].Text != "answer to hello" {
		t.Fatalf("reply %q", got[0].Text)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(at) != 2 {
		t.Fatalf("model called %d times, want 2 (one 429, one retry)", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < 2*time.Second {
		t.Errorf("retried after %s, before the 2 s Retry-After", gap)
	}
	assertRepliesStay(t, h, 1)
}

// LLM 5xx (after the retries): the user gets a clear apology, and the chat
// answers its next message once the model is back.
func TestFaultTableLLM5xx(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	var mu sync.Mutex
	down := true
	h.llm.SetHandler(func(r providertest.RecordedRequest) providertest.Reply {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return providertest.OpenAIServerError(502)
		}
		return providertest.Reply{Content: "answer to " + r.LastUser()}
	})
	h.start()
	h.push(dingtalktest.BotMessage{Text: "first"})
	got := h.waitReplies(1)
	if !strings.Contains(got[0].Text, "temporarily unavailable") {
		t.Errorf("reply %q, want the temporary-failure apology", got[0].Text)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	h.push(dingtalktest.BotMessage{Text: "second"})
	if got := h.waitReplies(2); got[1].Text != "answer to second" {
		t.Errorf("reply %q after recovery", got[1].Text)
	}
}

// LLM stream cut mid-answer: the partial answer is not passed off as the
// whole one; the call is retried and the user gets the full answer, once.
func TestFaultTableLLMStreamCut(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	full := strings.Repeat("一段完整的回答。", 40)
	h.llm.Enqueue(providertest.Reply{Content: full, CutStream: true}, providertest.Reply{Content: full})
	h.start()
	h.push(dingtalktest.BotMessage{Text: "long question"})
	if got := h.waitReplies(1); got[0].Text != full {
		t.Errorf("reply is %d bytes, want the full %d-byte answer", len(got[0].Text), len(full))
	}
	assertRepliesStay(t, h, 1)
}

// LLM hang past the turn timeout: the user gets an apology when the
// turn's time is up, and the chat answers its next message.
func TestFaultTableLLMHang(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{defaults: map[string]any{"turn_timeout": 2}})
	h.llm.SetHandler(func(r providertest.RecordedRequest) providertest.Reply {
		if r.LastUser() == "hang" {
			return providertest.Reply{Delay: time.Hour}
		}
		return providertest.Reply{Content: "answer to " + r.LastUser()}
	})
	h.start()
	h.push(dingtalktest.BotMessage{SenderStaffID: "u1", Text: "hang"})
	h.push(dingtalktest.BotMessage{SenderStaffID: "u1", Text: "next"})
	got := h.waitReplies(2)
	if !strings.Contains(got[0].Text, "took too long") || got[1].Text != "answer to next" {
		t.Errorf("replies %q, %q; want the timeout apology, then the next answer", got[0].Text, got[1].Text)
	}
	raw, err := os.ReadFile(filepath.Join(h.dataDir, "inbox", inbox.DeadLetterName))
	if err != nil || !strings.Contains(string(raw), `"text":"hang"`) || !strings.Contains(string(raw), "timed out") {
		t.Errorf("dead-letter file %q (%v), want the timed-out message with its reason", raw, err)
	}
}

// read_file on a FIFO: a tool error the model reads (no wedged chat), and
// the chat's next message is answered.
func TestFaultTableFIFORead(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	if err := syscall.Mkfifo(filepath.Join(h.workspace, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.llm.SetHandler(func(r providertest.RecordedRequest) providertest.Reply {
		last := lastMessage(r)
		switch {
		case last.Role == "tool":
			return providertest.Reply{Content: "the tool said: " + last.Content}
		case r.LastUser() == "read the pipe":
			return providertest.Reply{ToolCalls: []picoclaw.ToolCall{{ID: "c1", Name: "read_file", Arguments: json.RawMessage(`{"path":"pipe"}`)}}}
		}
		return providertest.Reply{Content: "answer to " + r.LastUser()}
	})
	h.start()
	h.push(dingtalktest.BotMessage{SenderStaffID: "u1", Text: "read the pipe"})
	h.push(dingtalktest.BotMessage{SenderStaffID: "u1", Text: "next"})
	got := h.waitReplies(2)
	if !strings.Contains(got[0].Text, "named pipe (FIFO)") || got[1].Text != "answer to next" {
		t.Errorf("replies %q, %q; want the FIFO refusal, then the next answer", got[0].Text, got[1].Text)
	}
}

// assertRepliesStay checks that no further reply arrives once the
// gateway has gone quiet: it stops the gateway (which finishes every
// turn) and counts again.
func assertRepliesStay(t *testing.T, h *gatewayHarness, n int) {
	t.Helper()
	h.stop()
	if got := len(delivered(h)); got != n {
		t.Errorf("%d messages delivered, want exactly %d: %q", got, n, delivered(h))
	}
}
