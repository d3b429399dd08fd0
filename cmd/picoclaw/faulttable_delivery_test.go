package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/internal/testutil"
)

// Fault table, delivery rows: each injects a DingTalk failure through the
// fake and checks what the user sees: the answer arrives exactly once,
// and nothing is left behind in the outbox.

// fastRetries makes the retry waits of the in-process gateway short (the
// outbox's and those inside one DingTalk call), so an outage of many
// attempts takes moments. The waits still happen (a retry loop never
// spins), they are only shorter; a Retry-After DingTalk asks for is still
// honoured.
func fastRetries(h *gatewayHarness) {
	h.tuning = gatewayTuning{
		callTimeout: 500 * time.Millisecond,
		minBackoff:  5 * time.Millisecond, maxBackoff: 20 * time.Millisecond,
	}
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// outboxHealthOf reads /health's "outbox" object.
func outboxHealthOf(t *testing.T, h *gatewayHarness) map[string]any {
	t.Helper()
	_, body := getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/health", h.port))
	ob, ok := body["outbox"].(map[string]any)
	if !ok {
		t.Fatalf("/health has no outbox object: %v", body)
	}
	return ob
}

// waitOutboxEmpty waits until /health reports no undelivered answer.
func waitOutboxEmpty(t *testing.T, h *gatewayHarness) map[string]any {
	t.Helper()
	ctx := waitCtx(t)
	for {
		ob := outboxHealthOf(t, h)
		if ob["pending"] == float64(0) {
			return ob
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the outbox never emptied: %v", ob)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// assertOnce checks that text reached the chat exactly once.
func assertOnce(t *testing.T, dt *dingtalktest.Server, text string) {
	t.Helper()
	if n := dt.DeliveredCount(text); n != 1 {
		t.Errorf("%q delivered %d times, want exactly once", text, n)
	}
}

// when the session webhook answers 500, hangs past its timeout, answers
// 302, answers a non-JSON page or errcode 300001 → the answer goes by
// OpenAPI at once, exactly once.
func TestFaultTableWebhookFailureFallsOverToOpenAPI(t *testing.T) {
	tests := []struct {
		name  string
		fault func(*dingtalktest.Server)
	}{
		{"webhook 500", func(s *dingtalktest.Server) { s.FailWebhookHTTP(dingtalktest.WebhookHTTP500, 1) }},
		{"webhook timeout", func(s *dingtalktest.Server) { s.FailWebhookHTTP(dingtalktest.WebhookHang, 1) }},
		{"webhook 302", func(s *dingtalktest.Server) { s.FailWebhookHTTP(dingtalktest.WebhookRedirect, 1) }},
		{"webhook non-JSON", func(s *dingtalktest.Server) { s.FailWebhookHTTP(dingtalktest.WebhookNotJSON, 1) }},
		{"webhook 300001", func(s *dingtalktest.Server) { s.FailWebhook(dingtalktest.ErrcodeSessionMissing, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newGatewayHarness(t, harnessOptions{})
			fastRetries(h)
			h.llm.SetHandler(llmHandler(released()))
			h.start()
			tt.fault(h.dt)
			h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "question " + tt.name})
			want := "echo: question " + tt.name
			sends, err := h.dt.WaitOpenAPISends(waitCtx(t), 1)
			if err != nil {
				t.Fatal(err)
			}
			checkSend(t, sends[0], dingtalktest.OpenAPISend{Kind: "direct", UserIDs: []string{alice}, Text: want})
			waitOutboxEmpty(t, h)
			assertOnce(t, h.dt, want)
			if n := len(h.dt.WebhookCalls()); n != 1 {
				t.Errorf("%d webhook posts, want 1: a failing webhook is not retried", n)
			}
		})
	}
}

// outageRow injects an OpenAPI outage at path while an answer has to go
// by OpenAPI, checks that the answer waits in the outbox (visible in
// /health), ends the outage and checks it arrives exactly once.
func outageRow(t *testing.T, path string, status int) {
	h := newGatewayHarness(t, harnessOptions{})
	fastRetries(h)
	h.llm.SetHandler(llmHandler(released()))
	h.start()
	h.dt.FailOpenAPIUntilRecovered(path, status, "")
	// A webhook about to expire is not used: the answer needs OpenAPI.
	h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "during the outage", WebhookTTL: time.Minute})
	// Many failed calls: the outbox retried after the in-call retries gave up.
	if err := h.dt.WaitFailedOpenAPICalls(waitCtx(t), path, 12); err != nil {
		t.Fatal(err)
	}
	if ob := outboxHealthOf(t, h); ob["pending"] != float64(1) {
		t.Errorf("/health outbox during the outage = %v, want 1 pending", ob)
	}
	h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "queued behind", WebhookTTL: time.Minute})
	h.dt.RecoverOpenAPI(path)
	sends, err := h.dt.WaitOpenAPISends(waitCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	// Same chat, in order: the later answer waited behind the first.
	if sends[0].Text != "echo: during the outage" || sends[1].Text != "echo: queued behind" {
		t.Errorf("sends after recovery = %q, %q; want the answers in order", sends[0].Text, sends[1].Text)
	}
	ob := waitOutboxEmpty(t, h)
	if ob["failed_permanent"] != float64(0) {
		t.Errorf("/health outbox = %v, want nothing failed for good", ob)
	}
	assertOnce(t, h.dt, "echo: during the outage")
	assertOnce(t, h.dt, "echo: queued behind")
	if !strings.Contains(h.logs.String(), "kept on disk and retried") {
		t.Error("the retries were not logged")
	}
}

// when OpenAPI answers 500 for a while, then recovers → the answer waits
// in the outbox (/health pending 1) and arrives once, in order.
func TestFaultTableOpenAPI500ThenRecovery(t *testing.T) {
	outageRow(t, dingtalktest.BatchSendPath, http.StatusInternalServerError)
}

// when the token endpoint answers 500 → same.
func TestFaultTableTokenEndpoint500(t *testing.T) {
	outageRow(t, dingtalktest.TokenPath, http.StatusInternalServerError)
}

// when OpenAPI answers 403 Forbidden.AccessDenied.QpsLimitForApi → same.
func TestFaultTableQpsLimit403(t *testing.T) {
	outageRow(t, dingtalktest.BatchSendPath, http.StatusForbidden)
}

// when an OpenAPI send is refused for good (400 invalid staff id) → the
// answer is dropped with its cause logged, counted in /health, kept in
// dead.jsonl; the chat's next answer is not held up.
func TestFaultTablePermanentFailureIsCounted(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	fastRetries(h)
	h.llm.SetHandler(llmHandler(released()))
	h.start()
	h.dt.FailOpenAPI(dingtalktest.BatchSendPath, http.StatusBadRequest,
		`{"code":"invalidParameter.userIds","message":"staffId 不存在","requestid":"r-1"}`, 1)
	h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "refused", WebhookTTL: time.Minute})
	h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "accepted", WebhookTTL: time.Minute})
	if _, err := h.dt.WaitOpenAPISends(waitCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	ob := waitOutboxEmpty(t, h)
	if ob["failed_permanent"] != float64(1) {
		t.Errorf("/health outbox = %v, want 1 failed for good", ob)
	}
	assertOnce(t, h.dt, "echo: accepted")
	if n := h.dt.DeliveredCount("echo: refused"); n != 0 {
		t.Errorf("refused answer delivered %d times", n)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "answer dropped") || !strings.Contains(logs, "invalidParameter.userIds") {
		t.Error("the drop was not logged with its cause")
	}
}

// when the gateway is killed (-9) with undelivered answers in the outbox
// → `picoclaw status` shows them, and after the restart they are
// delivered exactly once; a redelivery of the message is not answered
// again.
func TestFaultTableKill9WithUndeliveredAnswers(t *testing.T) {
	h := newGatewayHarness(t, harnessOptions{})
	h.llm.SetHandler(llmHandler(released()))
	h.dt.FailOpenAPIUntilRecovered(dingtalktest.BatchSendPath, http.StatusInternalServerError, "")
	child := startChild(t, h)
	p := h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "before the crash", WebhookTTL: time.Minute})
	// The inbox hands the message over once its answer is in the outbox.
	waitJournalDone(t, h.dataDir, p.MsgID)
	if err := h.dt.WaitFailedOpenAPICalls(waitCtx(t), dingtalktest.BatchSendPath, 1); err != nil {
		t.Fatal(err)
	}
	kill9(t, child)

	var out testutil.SyncBuffer
	e := &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	if code := e.execute(context.Background(), []string{"status", "--config", h.cfgPath}); code != 0 {
		t.Fatalf("status exit %d: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "1 answers waiting for delivery") {
		t.Errorf("status after the crash does not show the undelivered answer:\n%s", out.String())
	}

	h.dt.RecoverOpenAPI(dingtalktest.BatchSendPath)
	startChild(t, h)
	waitDelivered(t, h, "echo: before the crash")
	if _, err := h.dt.Redeliver(p); err != nil {
		t.Fatal(err)
	}
	h.push(dingtalktest.BotMessage{SenderStaffID: alice, Text: "after the restart", WebhookTTL: time.Minute})
	waitDelivered(t, h, "echo: after the restart")
	assertOnce(t, h.dt, "echo: before the crash")
	assertOnce(t, h.dt, "echo: after the restart")
	// Delivered from the outbox, not produced again: the model was asked once.
	asked := 0
	for _, r := range h.llm.Requests() {
		if r.LastUser() == "before the crash" {
			asked++
		}
	}
	if asked != 1 {
		t.Errorf("the model was asked %d times, want once (the answer comes from the outbox after the restart)", asked)
	}
}
