package openapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
	"picoclaw/internal/testutil"
)

const testCardTemplate = "tpl-ai-card.schema"

// newCardClient is a client of the fake DingTalk, in memory
// (srv.Transport), so that it can run in a synctest bubble; it logs to
// logs when not nil.
func newCardClient(t *testing.T, srv *dingtalktest.Server, logs io.Writer) *Client {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	a, err := New(Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIBase: srv.URL(),
		HTTPClient: &http.Client{Transport: srv.Transport()}, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newCardFake is the fake DingTalk with the test's card template. Make
// it outside a synctest bubble: its listener blocks on a real socket.
func newCardFake(t *testing.T) *dingtalktest.Server {
	t.Helper()
	srv := newFake(t)
	srv.AddCardTemplate(testCardTemplate)
	return srv
}

// A card goes to a single chat or a group in the shape DingTalk wants,
// and streamed updates build up what the user sees, each with its own guid.
func TestCardCreateAndStream(t *testing.T) {
	ctx := testCtx(t)
	srv := newCardFake(t)
	a := newCardClient(t, srv, nil)
	for _, sp := range []CardSpace{{ID: "staff1"}, {Group: true, ID: "cidGROUP=="}} {
		track := "track-" + sp.ID
		if err := a.CreateCard(ctx, Card{TemplateID: testCardTemplate, OutTrackID: track, Space: sp,
			Data: map[string]string{"flowStatus": "1"}}); err != nil {
			t.Fatalf("create in %s: %v", sp.OpenSpaceID(), err)
		}
		for _, u := range []CardUpdate{
			{OutTrackID: track, Key: "content", Content: "Hel", Full: true},
			{OutTrackID: track, Key: "content", Content: "lo"},
			{OutTrackID: track, Key: "content", Content: "Hello, **world**", Full: true, Finalize: true},
		} {
			if err := a.StreamCard(ctx, u); err != nil {
				t.Fatalf("stream %+v: %v", u, err)
			}
		}
		if got, done := srv.CardContent(track, "content"); got != "Hello, **world**" || !done {
			t.Errorf("card %s shows %q (finished %v)", track, got, done)
		}
	}
	cards := srv.CardsCreated()
	if len(cards) != 2 || cards[0].OpenSpaceID != "dtv1.card//IM_ROBOT.staff1" ||
		cards[1].OpenSpaceID != "dtv1.card//IM_GROUP.cidGROUP==" || cards[0].CallbackType != "STREAM" ||
		cards[0].RobotCode != srv.ClientID || cards[1].Data["flowStatus"] != "1" {
		t.Errorf("cards created: %+v", cards)
	}
	guids := map[string]bool{}
	for _, u := range srv.CardUpdates() {
		guids[u.GUID] = true
	}
	if len(guids) != 6 {
		t.Errorf("%d distinct guids over 6 updates", len(guids))
	}
	// The fake refuses writes after the final one, as a finished card is.
	if err := a.StreamCard(ctx, CardUpdate{OutTrackID: "track-staff1", Key: "content", Content: "more"}); err == nil {
		t.Error("update after finalize accepted")
	}
}

// Failures are classified like the other calls: a missing template is a
// plain error naming it, a missing permission is ErrAuth naming the
// scope to grant, and QPS throttling is waited out.
func TestCardFailures(t *testing.T) {
	srv := newCardFake(t)
	// In a bubble the QPS waits pass in fake time.
	synctest.Test(t, func(t *testing.T) { testCardFailures(t, srv) })
}

func testCardFailures(t *testing.T, srv *dingtalktest.Server) {
	ctx := testCtx(t)
	logs := &testutil.SyncBuffer{}
	a := newCardClient(t, srv, logs)
	card := Card{TemplateID: "missing.schema", OutTrackID: "t1", Space: CardSpace{ID: "staff1"}}
	err := a.CreateCard(ctx, card)
	if err == nil || errors.Is(err, picoclaw.ErrAuth) || !strings.Contains(err.Error(), "missing.schema") {
		t.Errorf("missing template: %v", err)
	}

	srv.FailOpenAPI(dingtalktest.CardCreatePath, http.StatusForbidden, dingtalktest.PermissionDeniedBody(CardInstanceScope), 1)
	card.TemplateID = testCardTemplate
	err = a.CreateCard(ctx, card)
	if !errors.Is(err, picoclaw.ErrAuth) || !strings.Contains(err.Error(), CardInstanceScope) {
		t.Errorf("no permission: %v, want ErrAuth naming %s", err, CardInstanceScope)
	}

	start := time.Now()
	srv.FailOpenAPI(dingtalktest.CardCreatePath, http.StatusForbidden, "", 2) // QpsLimit
	if err := a.CreateCard(ctx, card); err != nil {
		t.Fatalf("create after QPS limit: %v", err)
	}
	srv.FailOpenAPI(dingtalktest.CardStreamingPath, http.StatusForbidden, "", 1)
	if err := a.StreamCard(ctx, CardUpdate{OutTrackID: "t1", Key: "content", Content: "x", Full: true}); err != nil {
		t.Fatalf("stream after QPS limit: %v", err)
	}
	waited, waits := time.Since(start), strings.Count(logs.String(), "call failed, retrying")
	if waits != 3 || waited < 3*750*time.Millisecond {
		t.Errorf("waited %d times, %v in all; want 3 QPS back-offs of about a second", waits, waited)
	}
	if got, _ := srv.CardContent("t1", "content"); got != "x" {
		t.Errorf("card shows %q", got)
	}

	srv.FailOpenAPI(dingtalktest.CardStreamingPath, http.StatusForbidden, dingtalktest.PermissionDeniedBody(CardStreamingScope), 1)
	err = a.StreamCard(ctx, CardUpdate{OutTrackID: "t1", Key: "content", Content: "y"})
	if !errors.Is(err, picoclaw.ErrAuth) || !strings.Contains(err.Error(), CardStreamingScope) {
		t.Errorf("no streaming permission: %v", err)
	}
	if err := a.StreamCard(ctx, CardUpdate{OutTrackID: "nope", Key: "content"}); err == nil {
		t.Error("update of an unknown card accepted")
	}
	if err := a.CreateCard(ctx, Card{TemplateID: testCardTemplate, OutTrackID: "t2"}); err == nil {
		t.Error("card without a space accepted")
	}
}
