package dingtalktest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Each HTTP-level webhook fault answers as DingTalk's front ends do,
// delivers nothing, and is recorded; the next post goes through.
func TestWebhookHTTPFaults(t *testing.T) {
	tests := []struct {
		fault      WebhookFault
		wantStatus int
		wantBody   string
	}{
		{WebhookHTTP500, http.StatusInternalServerError, "tengine"},
		{WebhookRedirect, http.StatusFound, "tengine"},
		{WebhookNotJSON, http.StatusOK, "<html>"},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			s := newServer(t)
			dialRaw(t, s)
			p := mustPush(t, s, BotMessage{Text: "hi"})
			s.FailWebhookHTTP(tt.fault, 1)
			hook := s.URL() + WebhookPath + "?session=" + p.Session
			req, _ := http.NewRequest(http.MethodPost, hook, strings.NewReader(`{"msgtype":"text","text":{"content":"x"}}`))
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body bytes.Buffer
			_, _ = body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !strings.Contains(body.String(), tt.wantBody) {
				t.Errorf("answer %d %q, want %d with %q", resp.StatusCode, body.String(), tt.wantStatus, tt.wantBody)
			}
			if tt.fault == WebhookRedirect && resp.Header.Get("Location") == "" {
				t.Error("302 without Location")
			}
			if n := len(s.Replies()); n != 0 {
				t.Errorf("%d replies delivered through a failing webhook", n)
			}
			if code := postWebhookCode(t, s, p); code != ErrcodeOK {
				t.Errorf("next post: errcode %d, want 0", code)
			}
			calls := s.WebhookCalls()
			if len(calls) != 2 || calls[0].Fault != tt.fault || calls[1].Fault != 0 || calls[1].Errcode != ErrcodeOK {
				t.Errorf("recorded calls %+v, want the fault then an ok", calls)
			}
		})
	}
}

// A hanging webhook answers nothing until the client gives up.
func TestWebhookHang(t *testing.T) {
	s := newServer(t)
	dialRaw(t, s)
	p := mustPush(t, s, BotMessage{Text: "hi"})
	s.FailWebhookHTTP(WebhookHang, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+WebhookPath+"?session="+p.Session,
		strings.NewReader(`{"msgtype":"text","text":{"content":"x"}}`))
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	if n := len(s.Replies()); n != 0 {
		t.Errorf("%d replies delivered", n)
	}
}

// An outage answers every call until it is over; queued faults first.
func TestOpenAPIOutage(t *testing.T) {
	s := newServer(t)
	token := func() int {
		return postRaw(t, s.URL()+TokenPath, "application/json",
			[]byte(`{"appKey":"`+DefaultClientID+`","appSecret":"`+DefaultClientSecret+`"}`)).status
	}
	s.FailOpenAPIUntilRecovered(TokenPath, http.StatusInternalServerError, "")
	s.FailOpenAPI(TokenPath, http.StatusForbidden, "", 1)
	got := []int{token(), token(), token()}
	s.RecoverOpenAPI(TokenPath)
	got = append(got, token())
	if want := []int{403, 500, 500, 200}; !equalInts(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if n := s.FailedOpenAPICalls(TokenPath); n != 3 {
		t.Errorf("FailedOpenAPICalls = %d, want 3", n)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
