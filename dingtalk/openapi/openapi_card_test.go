package openapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/dingtalktest"
)

const testCardTemplate = "tpl-ai-card.schema"

// newCardClient is a client of the fake DingTalk that records its waits
// instead of sleeping.
func newCardClient(t *testing.T) (*Client, *dingtalktest.Server, func() []time.Duration) {
	t.Helper()
	srv := newFake(t)
	srv.AddCardTemplate(testCardTemplate)
	var mu sync.Mutex
	var sleeps []time.Duration
	a, err := New(Config{ClientID: srv.ClientID, ClientSecret: srv.ClientSecret, APIBase: srv.URL(),
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			sleeps = append(sleeps, d)
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	return a, srv, func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), sleeps...)
	}
}

// A card goes to a single chat or a group in the shape DingTalk wants,
// and streamed updates build up what the user sees, each with its own guid.
func TestCardCreateAndStream(t *testing.T) {
	ctx := testCtx(t)
	a, srv, _ := newCardClient(t)
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
	ctx := testCtx(t)
	a, srv, sleeps := newCardClient(t)
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

	srv.FailOpenAPI(dingtalktest.CardCreatePath, http.StatusForbidden, "", 2) // QpsLimit
	if err := a.CreateCard(ctx, card); err != nil {
		t.Fatalf("create after QPS limit: %v", err)
	}
	srv.FailOpenAPI(dingtalktest.CardStreamingPath, http.StatusForbidden, "", 1)
	if err := a.StreamCard(ctx, CardUpdate{OutTrackID: "t1", Key: "content", Content: "x", Full: true}); err != nil {
		t.Fatalf("stream after QPS limit: %v", err)
	}
	if got := sleeps(); len(got) != 3 {
		t.Errorf("waited %v, want 3 QPS back-offs", got)
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
