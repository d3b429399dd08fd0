package openapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"picoclaw"

	"picoclaw/internal/testutil"
)

func TestOpenAPITokenCachedAndRefreshedEarly(t *testing.T) {
	// The bubble's clock moves only by the steps' sleeps.
	synctest.Test(t, testOpenAPITokenCachedAndRefreshedEarly)
}

func testOpenAPITokenCachedAndRefreshedEarly(t *testing.T) {
	s := newAPIServer(t)
	s.script(groupSendPath, fixtureAnswer(t, "robot-groupMessages-send-response.json"))
	a := newTestOpenAPI(t, s, nil)
	send := func() {
		t.Helper()
		if err := a.SendGroup(context.Background(), "cid1", TextMessage("x")); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		advance time.Duration
		tokens  int
	}{
		{"first send fetches", 0, 1},
		{"second send reuses", time.Minute, 1},
		{"just before the refresh point", 7200*time.Second - tokenEarly - time.Minute - time.Second, 1},
		{"five minutes before expiry", time.Second, 2},
		{"new token reused", time.Minute, 2},
	}
	for _, st := range steps {
		time.Sleep(st.advance)
		send()
		if n := len(s.callsTo(tokenPath)); n != st.tokens {
			t.Fatalf("%s: %d token requests, want %d", st.name, n, st.tokens)
		}
	}
	for _, c := range s.callsTo(tokenPath) {
		if c.token != "" || !strings.Contains(string(c.body), `"appKey":"`+testAppKey+`"`) ||
			!strings.Contains(string(c.body), `"appSecret":"`+testAppSecret+`"`) {
			t.Errorf("token request %s (token header %q)", c.body, c.token)
		}
	}
}

func TestOpenAPIRetries(t *testing.T) {
	okGroup := func(t *testing.T) func(w http.ResponseWriter) {
		return fixtureAnswer(t, "robot-groupMessages-send-response.json")
	}
	qps := jsonAnswer(403, `{"code":"Forbidden.AccessDenied.QpsLimitForApi","message":"限流","requestid":"r"}`)
	tests := []struct {
		name    string
		answers func(t *testing.T) []func(w http.ResponseWriter)
		calls   int
		tokens  int
		sleeps  int
		qpsWait bool
		errKind error // nil: success
	}{
		{"QPS limit waits about a second", func(t *testing.T) []func(w http.ResponseWriter) {
			return []func(w http.ResponseWriter){qps, qps, okGroup(t)}
		}, 3, 1, 2, true, nil},
		{"QPS limit gives up after a few tries", func(t *testing.T) []func(w http.ResponseWriter) {
			return []func(w http.ResponseWriter){qps}
		}, 1 + openAPIQPSRetries, 1, openAPIQPSRetries, true, errQPSLimit},
		{"5xx and HTML 502 back off", func(t *testing.T) []func(w http.ResponseWriter) {
			return []func(w http.ResponseWriter){jsonAnswer(500, `{"code":"InternalError","message":"x"}`),
				statusAnswer(502, "<html><body>502 Bad Gateway</body></html>"), okGroup(t)}
		}, 3, 1, 2, false, nil},
		{"5xx gives up", func(t *testing.T) []func(w http.ResponseWriter) {
			return []func(w http.ResponseWriter){statusAnswer(503, "")}
		}, 1 + openAPITempRetries, 1, openAPITempRetries, false, picoclaw.ErrTemporary},
		{"refused token is refreshed once", func(t *testing.T) []func(w http.ResponseWriter) {
			return []func(w http.ResponseWriter){fixtureStatusAnswer(t, 400, "openapi-error-400-InvalidAuthentication.json"), okGroup(t)}
		}, 2, 2, 0, false, nil},
		{"refused twice is an auth error", func(t *testing.T) []func(w http.ResponseWriter) {
			return []func(w http.ResponseWriter){fixtureStatusAnswer(t, 400, "openapi-error-400-InvalidAuthentication.json")}
		}, 2, 2, 0, false, picoclaw.ErrAuth},
		{"other 4xx is not retried", func(t *testing.T) []func(w http.ResponseWriter) {
			return []func(w http.ResponseWriter){jsonAnswer(400, `{"code":"invalidParameter","message":"bad"}`)}
		}, 1, 1, 0, false, nil},
	}
	for _, tt := range tests {
		// In a bubble the waits pass in fake time, and the gaps between
		// the calls the server saw are exactly the client's waits.
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newAPIServer(t)
				s.script(groupSendPath, tt.answers(t)...)
				a := newTestOpenAPI(t, s, nil)
				err := a.SendGroup(context.Background(), "cid1", TextMessage("x"))
				var sleeps []time.Duration
				calls := s.callsTo(groupSendPath)
				for i := 1; i < len(calls); i++ {
					if d := calls[i].at.Sub(calls[i-1].at); d > 0 {
						sleeps = append(sleeps, d)
					}
				}
				failed := tt.name == "other 4xx is not retried"
				switch {
				case tt.errKind == nil && !failed && err != nil:
					t.Fatalf("err = %v", err)
				case tt.errKind != nil && !errors.Is(err, tt.errKind):
					t.Fatalf("err = %v, want %v", err, tt.errKind)
				case failed && (err == nil || !strings.Contains(err.Error(), "invalidParameter")):
					t.Fatalf("err = %v", err)
				}
				if n := len(s.callsTo(groupSendPath)); n != tt.calls {
					t.Errorf("%d calls, want %d", n, tt.calls)
				}
				if n := len(s.callsTo(tokenPath)); n != tt.tokens {
					t.Errorf("%d token requests, want %d", n, tt.tokens)
				}
				if len(sleeps) != tt.sleeps {
					t.Errorf("%d waits, want %d", len(sleeps), tt.sleeps)
				}
				for _, d := range sleeps {
					if tt.qpsWait && (d < 750*time.Millisecond || d > 1250*time.Millisecond) {
						t.Errorf("QPS wait %v, want about a second", d)
					}
				}
			})
		})
	}
}

func TestOpenAPIBadCredentials(t *testing.T) {
	s := newAPIServer(t)
	s.script(tokenPath, fixtureStatusAnswer(t, 400, "openapi-error-400-invalidClientIdOrSecret.json"))
	logs := &testutil.SyncBuffer{}
	a := newTestOpenAPI(t, s, logs)
	err := a.SendDirect(context.Background(), []string{"0123"}, TextMessage("x"))
	if !errors.Is(err, picoclaw.ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	msg := err.Error()
	for _, want := range []string{"channels.dingtalk.client_id/client_secret", "invalidClientIdOrSecret"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, testAppSecret) || strings.Contains(logs.String(), testAppSecret) {
		t.Errorf("secret leaked:\n%s\n%s", msg, logs)
	}
	if n := len(s.callsTo(tokenPath)); n != 1 {
		t.Errorf("%d token requests, want 1 (bad credentials are not retried)", n)
	}
	if n := len(s.callsTo(batchSendPath)); n != 0 {
		t.Errorf("%d sends without a token", n)
	}
}

func TestOpenAPITokenNeverInErrorsOrLogs(t *testing.T) {
	s := newAPIServer(t)
	s.script(groupSendPath, jsonAnswer(400, `{"code":"invalidParameter","message":"token `+testToken+` is odd"}`))
	logs := &testutil.SyncBuffer{}
	a := newTestOpenAPI(t, s, logs)
	err := a.SendGroup(context.Background(), "cid1", TextMessage("x"))
	if err == nil || strings.Contains(err.Error(), testToken) || strings.Contains(logs.String(), testToken) {
		t.Errorf("err = %v\nlogs:\n%s", err, logs)
	}
}

// blockingTransport answers token requests only once released; every
// other request succeeds at once. It runs in memory, so synctest can see
// its callers block.
type blockingTransport struct {
	release chan struct{}
	mu      sync.Mutex
	tokens  int
}

func (b *blockingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body := `{"processQueryKey":"k"}`
	if r.URL.Path == tokenPath {
		b.mu.Lock()
		b.tokens++
		b.mu.Unlock()
		select {
		case <-b.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
		body = `{"accessToken":"tok","expireIn":7200}`
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
}

func TestOpenAPITokenSingleFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &blockingTransport{release: make(chan struct{})}
		a, err := New(Config{ClientID: "k", ClientSecret: "s", APIBase: "http://api.invalid",
			HTTPClient: &http.Client{Transport: tr}})
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make(chan error, n)
		for range n {
			go func() { errs <- a.SendGroup(context.Background(), "cid1", TextMessage("x")) }()
		}
		synctest.Wait() // one token request in flight, the others waiting for it
		close(tr.release)
		for range n {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if tr.tokens != 1 {
			t.Errorf("%d token requests, want 1", tr.tokens)
		}
	})
}

func TestOpenAPITokenWaiterOutlivesCanceledFetcher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &blockingTransport{release: make(chan struct{})}
		a, err := New(Config{ClientID: "k", ClientSecret: "s", APIBase: "http://api.invalid",
			HTTPClient: &http.Client{Transport: tr}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan error, 1)
		go func() { _, err := a.Token(ctx); first <- err }()
		synctest.Wait()
		second := make(chan error, 1)
		go func() { _, err := a.Token(context.Background()); second <- err }()
		synctest.Wait()
		cancel() // the fetcher gives up; the waiter must fetch for itself
		if err := <-first; !errors.Is(err, context.Canceled) {
			t.Errorf("first: %v", err)
		}
		synctest.Wait()
		close(tr.release)
		if err := <-second; err != nil {
			t.Errorf("second: %v", err)
		}
		if tr.tokens != 2 {
			t.Errorf("%d token requests, want 2", tr.tokens)
		}
	})
}
