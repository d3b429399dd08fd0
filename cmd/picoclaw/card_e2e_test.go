package main

import (
	"fmt"
	"strings"
	"testing"

	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/provider/providertest"
)

const e2eTemplate = "tpl-e2e.schema"

func cardHarness(t *testing.T, reply providertest.Reply) *gatewayHarness {
	t.Helper()
	h := newGatewayHarness(t, harnessOptions{})
	h.dt.AddCardTemplate(e2eTemplate)
	editConfig(t, h, func(_, dt map[string]any) {
		dt["card_template_id"] = e2eTemplate
		dt["card_update_ms"] = 1
	})
	h.llm.SetHandler(func(providertest.RecordedRequest) providertest.Reply { return reply })
	return h
}

func cardHealth(t *testing.T, h *gatewayHarness) map[string]any {
	t.Helper()
	_, body := getJSON(t, fmt.Sprintf("http://127.0.0.1:%d/health", h.port))
	c, ok := body["cards"].(map[string]any)
	if !ok {
		t.Fatalf("/health has no cards object: %v", body)
	}
	return c
}

// With card_template_id set, a streamed answer fills in one card as the
// model writes (several updates), ends with the whole text, and no
// markdown reply is sent; /health counts the calls.
func TestGatewayCardStreaming(t *testing.T) {
	pace := make(chan struct{})
	answer := "The answer is forty-two, written slowly, piece by piece."
	h := cardHarness(t, providertest.Reply{Content: answer, ChunkSize: 8, Pace: pace})
	h.start()
	h.push(dingtalktest.BotMessage{Text: "question"})
	ctx := waitCtx(t)
	cards, err := h.dt.WaitCardsCreated(ctx, 1)
	if err != nil {
		t.Fatalf("%v (logs:\n%s)", err, h.logs)
	}
	for i := 1; i <= 3; i++ {
		pace <- struct{}{}
		if _, err := h.dt.WaitCardUpdates(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	close(pace)
	track := cards[0].OutTrackID
	if err := h.dt.WaitCardFinalized(ctx, track); err != nil {
		t.Fatalf("%v (logs:\n%s)", err, h.logs)
	}
	if got, _ := h.dt.CardContent(track, "msgContent"); got != answer {
		t.Errorf("card shows %q, want %q", got, answer)
	}
	waitOutboxEmpty(t, h)
	c := cardHealth(t, h)
	ups := h.dt.CardUpdates()
	if c["created"] != float64(1) || c["finalized"] != float64(1) || c["fallbacks"] != float64(0) ||
		c["streaming_updates"] != float64(len(ups)) || len(ups) < 4 {
		t.Errorf("/health cards %v; %d updates seen", c, len(ups))
	}
	h.stop()
	if n := h.dt.ReplyCount() + len(h.dt.OpenAPISends()); n != 0 {
		t.Errorf("%d markdown replies besides the card", n)
	}
}

// A card DingTalk refuses (no Card.Instance.Write) costs nothing but the
// attempt: the answer arrives as one markdown reply, and the fix is logged.
func TestGatewayCardRefused(t *testing.T) {
	h := cardHarness(t, providertest.Reply{Content: "plain answer", ChunkSize: 4})
	h.dt.FailOpenAPI(dingtalktest.CardCreatePath, 403, dingtalktest.PermissionDeniedBody("Card.Instance.Write"), 1)
	h.start()
	h.push(dingtalktest.BotMessage{Text: "question"})
	h.waitReplies(1)
	waitOutboxEmpty(t, h)
	if c := cardHealth(t, h); c["fallbacks"] != float64(1) || c["created"] != float64(0) {
		t.Errorf("/health cards %v", c)
	}
	h.stop()
	assertOnce(t, h.dt, "plain answer")
	if n := h.dt.ReplyCount() + len(h.dt.OpenAPISends()); n != 1 {
		t.Errorf("%d replies, want exactly one", n)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "Card.Streaming.Write") {
		t.Errorf("the fix is not logged:\n%s", logs)
	}
}
