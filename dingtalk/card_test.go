package dingtalk

import (
	"strings"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/dingtalk/openapi"
)

const testTemplate = "tpl-answer.schema"

// replyStreamed sends in's answer as the agent does after streaming it.
func replyStreamed(t *testing.T, lc *liveChannel, in picoclaw.Inbound, text string) error {
	t.Helper()
	return lc.ch.Send(testCtx(t), picoclaw.Outbound{Channel: ChannelName, Chat: in.Chat, Text: text,
		ReplyTo: in.MessageID, SenderID: in.SenderID, Streamed: true})
}

// Only the turn's own answer finishes its card: another message for the
// same question (a tool's, a sub-agent's) goes as markdown, and the card
// keeps streaming until the answer.
func TestCardOnlyForTheAnswer(t *testing.T) {
	srv := newFake(t)
	lc := cardChannel(t, srv)
	in := lc.push(t, dingtalktest.BotMessage{Text: "q"})
	lc.ch.StreamSink(in).Delta(picoclaw.Delta{Content: "working"})
	cards, err := srv.WaitCardsCreated(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := lc.reply(t, in, "a side message"); err != nil {
		t.Fatal(err)
	}
	if _, done := srv.CardContent(cards[0].OutTrackID, CardContentKey); done || srv.ReplyCount() != 1 {
		t.Errorf("side message: card finished %v, %d replies", done, srv.ReplyCount())
	}
	if err := replyStreamed(t, lc, in, "the answer"); err != nil {
		t.Fatal(err)
	}
	if got, done := srv.CardContent(cards[0].OutTrackID, CardContentKey); got != "the answer" || !done || srv.ReplyCount() != 1 {
		t.Errorf("card shows %q (finished %v), %d replies", got, done, srv.ReplyCount())
	}
}

func cardChannel(t *testing.T, srv *dingtalktest.Server) *liveChannel {
	t.Helper()
	srv.AddCardTemplate(testTemplate)
	return startChannel(t, srv, func(c *ChannelConfig) {
		c.CardTemplateID = testTemplate
		c.CardUpdate = time.Millisecond
	})
}

// A streamed answer creates one card in the asker's chat, updates it as
// the text grows, and ends it with the whole shaped answer; no markdown
// reply is sent.
func TestCardStreamsAnswer(t *testing.T) {
	for _, group := range []bool{false, true} {
		t.Run(map[bool]string{false: "direct", true: "group"}[group], func(t *testing.T) {
			srv := newFake(t)
			lc := cardChannel(t, srv)
			in := lc.push(t, dingtalktest.BotMessage{Group: group, InAtList: group, Text: "hi"})
			sink := lc.ch.StreamSink(in)
			if sink == nil {
				t.Fatal("no sink with card_template_id set")
			}
			ctx := testCtx(t)
			sink.Delta(picoclaw.Delta{Content: "Hello"})
			cards, err := srv.WaitCardsCreated(ctx, 1)
			if err != nil {
				t.Fatalf("%v (logs:\n%s)", err, lc.logs)
			}
			wantSpace := "dtv1.card//IM_ROBOT." + in.Chat.ID
			if group {
				wantSpace = "dtv1.card//IM_GROUP." + in.Chat.ID
			}
			if cards[0].OpenSpaceID != wantSpace || cards[0].TemplateID != testTemplate {
				t.Errorf("card %+v, want space %s", cards[0], wantSpace)
			}
			sink.Round("🔧 lookup")
			if _, err := srv.WaitCardUpdates(ctx, 1); err != nil {
				t.Fatal(err)
			}
			sink.Delta(picoclaw.Delta{Content: "The answer"})
			if _, err := srv.WaitCardUpdates(ctx, 2); err != nil {
				t.Fatal(err)
			}
			answer := "The answer is **42**."
			if err := replyStreamed(t, lc, in, answer); err != nil {
				t.Fatal(err)
			}
			track := cards[0].OutTrackID
			if got, done := srv.CardContent(track, CardContentKey); got != ShapeMarkdown(answer) || !done {
				t.Errorf("card shows %q (finished %v), want the answer", got, done)
			}
			ups := srv.CardUpdates()
			if last := ups[len(ups)-1]; !last.Finalize || !last.Full {
				t.Errorf("last update %+v, want the full final one", last)
			}
			for _, u := range ups[:len(ups)-1] {
				if u.Finalize {
					t.Errorf("finalized before the answer: %+v", u)
				}
			}
			if n := srv.ReplyCount() + len(srv.OpenAPISends()); n != 0 {
				t.Errorf("%d markdown replies besides the card", n)
			}
			if st := lc.ch.CardStats(); st.Created != 1 || st.Finalized != 1 || st.Fallbacks != 0 || st.Updates != int64(len(ups)) {
				t.Errorf("stats %+v (%d updates seen)", st, len(ups))
			}
		})
	}
}

// A card DingTalk refuses (no permission) leaves the answer to one
// markdown reply, logged once at warn with the fix; cards then pause, so
// the next answers spend no failing call, and come back after the pause.
func TestCardRefusedFallsBack(t *testing.T) {
	srv := newFake(t)
	lc := cardChannel(t, srv)
	srv.FailOpenAPI(dingtalktest.CardCreatePath, 403, dingtalktest.PermissionDeniedBody(openapi.CardInstanceScope), 1)
	in := lc.push(t, dingtalktest.BotMessage{Text: "q"})
	lc.ch.StreamSink(in).Delta(picoclaw.Delta{Content: "partial"})
	if err := srv.WaitFailedOpenAPICalls(testCtx(t), dingtalktest.CardCreatePath, 1); err != nil {
		t.Fatal(err)
	}
	if err := replyStreamed(t, lc, in, "the answer"); err != nil {
		t.Fatal(err)
	}
	// Paused: the next answer goes straight to markdown.
	in = lc.push(t, dingtalktest.BotMessage{Text: "q2"})
	if lc.ch.StreamSink(in) != nil {
		t.Error("a card sink right after DingTalk refused cards")
	}
	if err := lc.reply(t, in, "the second answer"); err != nil {
		t.Fatal(err)
	}
	if n := srv.ReplyCount(); n != 2 {
		t.Errorf("%d markdown replies, want one per answer", n)
	}
	if n := srv.FailedOpenAPICalls(dingtalktest.CardCreatePath); n != 1 {
		t.Errorf("%d refused card calls, want 1 (cards paused after the first)", n)
	}
	if st := lc.ch.CardStats(); st.Fallbacks != 1 || st.Created != 0 {
		t.Errorf("stats %+v", st)
	}
	if logs := lc.logs.String(); strings.Count(logs, "Card.Streaming.Write") != 1 || !strings.Contains(logs, "level=WARN") ||
		!strings.Contains(logs, "cards_paused=true") {
		t.Errorf("want the fix and the pause logged once at warn:\n%s", logs)
	}
	// The pause over (the permission granted meanwhile), cards are back.
	lc.ch.cards.pausedUntil.Store(0)
	in = lc.push(t, dingtalktest.BotMessage{Text: "q3"})
	sink := lc.ch.StreamSink(in)
	if sink == nil {
		t.Fatal("no card sink after the pause")
	}
	sink.Delta(picoclaw.Delta{Content: "back"})
	if _, err := srv.WaitCardsCreated(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
}

// A QPS limit on card creation is no refusal: cards do not pause.
func TestCardQPSLimitDoesNotPause(t *testing.T) {
	srv := newFake(t)
	lc := cardChannel(t, srv)
	lc.ch.pauseCardsIfRefused(&openapi.Error{Status: 403, Code: "Forbidden.AccessDenied.QpsLimitForApi"})
	lc.ch.pauseCardsIfRefused(&openapi.Error{Status: 503})
	if lc.ch.cardsPaused() {
		t.Error("cards paused by a QPS limit or a 5xx")
	}
	lc.ch.pauseCardsIfRefused(&openapi.Error{Status: 400, Code: "param.templateNotExist"})
	if !lc.ch.cardsPaused() {
		t.Error("cards not paused by a missing template")
	}
}

// Without streamed text there is no card; a stopped turn's card ends
// showing what it had; cards are off without a template.
func TestCardEdges(t *testing.T) {
	srv := newFake(t)
	lc := cardChannel(t, srv)
	in := lc.push(t, dingtalktest.BotMessage{Text: "q"})
	_ = lc.ch.StreamSink(in)
	if err := replyStreamed(t, lc, in, "plain"); err != nil {
		t.Fatal(err)
	}
	if srv.ReplyCount() != 1 || len(srv.CardsCreated()) != 0 {
		t.Errorf("unstreamed answer: %d replies, %d cards", srv.ReplyCount(), len(srv.CardsCreated()))
	}

	in = lc.push(t, dingtalktest.BotMessage{Text: "q2"})
	lc.ch.StreamSink(in).Delta(picoclaw.Delta{Content: "half an ans"})
	cards, err := srv.WaitCardsCreated(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	lc.ch.EndCard(testCtx(t), in.MessageID)
	if got, done := srv.CardContent(cards[0].OutTrackID, CardContentKey); !done || !strings.HasPrefix(got, "half an ans") || !strings.Contains(got, "stopped") {
		t.Errorf("stopped card shows %q (finished %v)", got, done)
	}

	off := newLiveChannel(t, srv, nil)
	if off.ch.StreamSink(in) != nil {
		t.Error("a sink without card_template_id")
	}
}

// A card made but never allowed to stream (no Card.Streaming.Write):
// the answer still arrives, once, as markdown.
func TestCardStreamingRefusedFallsBack(t *testing.T) {
	srv := newFake(t)
	lc := cardChannel(t, srv)
	srv.FailOpenAPI(dingtalktest.CardStreamingPath, 403, dingtalktest.PermissionDeniedBody(openapi.CardStreamingScope), 100)
	in := lc.push(t, dingtalktest.BotMessage{Text: "q"})
	sink := lc.ch.StreamSink(in)
	sink.Delta(picoclaw.Delta{Content: "first"})
	if _, err := srv.WaitCardsCreated(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	sink.Delta(picoclaw.Delta{Content: " second"})
	if err := srv.WaitFailedOpenAPICalls(testCtx(t), dingtalktest.CardStreamingPath, 1); err != nil {
		t.Fatal(err)
	}
	if err := replyStreamed(t, lc, in, "the answer"); err != nil {
		t.Fatal(err)
	}
	if n := srv.ReplyCount(); n != 1 {
		t.Errorf("%d markdown replies, want 1", n)
	}
	if st := lc.ch.CardStats(); st.Created != 1 || st.Fallbacks != 1 || st.Finalized != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A QPS limit on an update is waited out; the card still ends with the answer.
func TestCardUpdateThrottled(t *testing.T) {
	srv := newFake(t)
	lc := cardChannel(t, srv)
	srv.FailOpenAPI(dingtalktest.CardStreamingPath, 403, "", 1) // QpsLimit
	in := lc.push(t, dingtalktest.BotMessage{Text: "q"})
	sink := lc.ch.StreamSink(in)
	sink.Delta(picoclaw.Delta{Content: "first"})
	cards, err := srv.WaitCardsCreated(testCtx(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	sink.Delta(picoclaw.Delta{Content: " second"})
	if _, err := srv.WaitCardUpdates(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	if err := replyStreamed(t, lc, in, "the answer"); err != nil {
		t.Fatal(err)
	}
	if got, done := srv.CardContent(cards[0].OutTrackID, CardContentKey); got != "the answer" || !done {
		t.Errorf("card shows %q (finished %v)", got, done)
	}
	if srv.ReplyCount() != 0 {
		t.Error("markdown reply besides the card")
	}
}
