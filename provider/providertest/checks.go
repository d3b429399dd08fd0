package providertest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"picoclaw"
)

// The checks in this file need a provider configured beyond what a
// Harness offers (several keys, a short timeout, a given model), so a
// provider package calls them from its own tests with its own Config.

// starter is a Harness.Start over fakes from newFake; newProvider
// returns a provider for the fake at baseURL using apiKey secret.
func starter[F interface {
	Fake
	URL() string
	Close()
}](newFake func() F, secret string, newProvider func(t *testing.T, baseURL, apiKey string) picoclaw.Provider) func(t *testing.T) (Fake, picoclaw.Provider) {
	return func(t *testing.T) (Fake, picoclaw.Provider) {
		t.Helper()
		s := newFake()
		t.Cleanup(s.Close)
		return s, newProvider(t, s.URL(), secret)
	}
}

// FixtureFake is a Fake that can replay a recorded stream.
type FixtureFake interface {
	Fake
	ServeFixture(path string)
}

// Replay is a recorded stream and the response a provider must make of
// it.
type Replay struct {
	Fixture      string // path of the recording, for ServeFixture
	Content      string
	Reasoning    string
	ToolCalls    []picoclaw.ToolCall // arguments compared byte for byte
	FinishReason string
	Usage        picoclaw.Usage
}

// RunReplays checks each replay in a subtest named after its fixture: a
// provider from start, its fake serving the fixture, returns the expected
// response and streams the same content and reasoning as deltas.
func RunReplays(t *testing.T, start func(t *testing.T) (FixtureFake, picoclaw.Provider), replays []Replay) {
	t.Helper()
	for _, tt := range replays {
		name := tt.Fixture[strings.LastIndex(tt.Fixture, "/")+1:]
		t.Run(name, func(t *testing.T) {
			s, p := start(t)
			s.ServeFixture(tt.Fixture)
			var content, reasoning strings.Builder
			resp, err := p.Complete(t.Context(), userRequest("hi"), func(d picoclaw.Delta) {
				content.WriteString(d.Content)
				reasoning.WriteString(d.Reasoning)
			})
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if resp.Content != tt.Content || content.String() != tt.Content {
				t.Errorf("content = %q, deltas %q; want %q", resp.Content, content.String(), tt.Content)
			}
			if resp.Reasoning != tt.Reasoning || reasoning.String() != tt.Reasoning {
				t.Errorf("reasoning = %q, deltas %q; want %q", resp.Reasoning, reasoning.String(), tt.Reasoning)
			}
			if resp.FinishReason != tt.FinishReason || resp.Usage != tt.Usage {
				t.Errorf("finish, usage = %q, %+v; want %q, %+v", resp.FinishReason, resp.Usage, tt.FinishReason, tt.Usage)
			}
			if len(resp.ToolCalls) != len(tt.ToolCalls) {
				t.Fatalf("tool calls = %+v, want %+v", resp.ToolCalls, tt.ToolCalls)
			}
			for i, want := range tt.ToolCalls {
				got := resp.ToolCalls[i]
				if got.ID != want.ID || got.Name != want.Name || string(got.Arguments) != string(want.Arguments) {
					t.Errorf("tool call %d = {%s %s %s}, want {%s %s %s}", i, got.ID, got.Name, got.Arguments, want.ID, want.Name, want.Arguments)
				}
			}
		})
	}
}

// ErrorCase is an answer a provider must turn into an error that Check
// accepts.
type ErrorCase struct {
	Name  string
	Reply Reply
	Check func(t *testing.T, err error)
}

// RunErrorCases checks each case in a subtest: with the case's reply
// enqueued on a fake from start, whose provider uses the one API key
// secret, Complete fails with an error that Check accepts, that does not
// contain secret, and whose text begins with prefix (the operation and
// model, e.g. "openai: complete (model gpt-4): ").
func RunErrorCases(t *testing.T, start func(t *testing.T) (Fake, picoclaw.Provider), secret, prefix string, cases []ErrorCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			s, p := start(t)
			s.Enqueue(tt.Reply)
			_, err := p.Complete(t.Context(), userRequest("hi"), nil)
			if err == nil {
				t.Fatal("Complete succeeded, want an error")
			}
			tt.Check(t, err)
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q contains the API key", err)
			}
			if !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error %q does not name the operation and model", err)
			}
		})
	}
}

// WantKind is an ErrorCase.Check for an error of kind (errors.Is).
func WantKind(kind error) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, kind) {
			t.Errorf("err = %v, want errors.Is %v", err, kind)
		}
	}
}

// WantRetryAfter is an ErrorCase.Check for a *picoclaw.RateLimitError
// announcing d.
func WantRetryAfter(d time.Duration) func(*testing.T, error) {
	return func(t *testing.T, err error) {
		t.Helper()
		var rl *picoclaw.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != d {
			t.Errorf("err = %v, want RateLimitError with RetryAfter %s", err, d)
		}
	}
}

// WantNoKind is an ErrorCase.Check for an error of none of picoclaw's
// kinds: not retryable, not auth, context length nor a bad response.
func WantNoKind(t *testing.T, err error) {
	t.Helper()
	if picoclaw.IsRetryable(err) || errors.Is(err, picoclaw.ErrContextLength) || errors.Is(err, picoclaw.ErrAuth) || errors.Is(err, picoclaw.ErrBadResponse) {
		t.Errorf("err = %v, want a plain error", err)
	}
}

// RunKeyRotation checks a provider from start configured with several
// API keys: each request takes the next key, a rate-limited or refused
// key (h.RateLimited, h.Unauthorized) is retried once with the next key,
// a server failure (h.ServerError, h.Unavailable) is not retried, and the
// next request starts at the key after the last one tried.
func RunKeyRotation(t *testing.T, h Harness, start func(t *testing.T, keys []string) (Fake, picoclaw.Provider)) {
	t.Helper()
	keys := []string{"sk-providertest-a", "sk-providertest-b", "sk-providertest-c"}
	tests := []struct {
		name     string
		replies  []Reply
		wantKeys []string
		wantErr  error
	}{
		{"each request takes the next key", nil, keys[:1], nil},
		{"429 retries with the next key", []Reply{h.RateLimited, {Content: "ok"}}, keys[:2], nil},
		{"401 retries with the next key", []Reply{h.Unauthorized, {Content: "ok"}}, keys[:2], nil},
		{"only once", []Reply{h.Unauthorized, h.Unauthorized}, keys[:2], picoclaw.ErrAuth},
		{"server error is not retried", []Reply{h.ServerError}, keys[:1], picoclaw.ErrTemporary},
		{"unavailable is not retried", []Reply{h.Unavailable}, keys[:1], picoclaw.ErrTemporary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, p := start(t, keys)
			s.Enqueue(tt.replies...)
			_, err := p.Complete(t.Context(), userRequest("hi"), nil)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Complete error = %v, want %v", err, tt.wantErr)
			}
			// The next request starts at the key after the last one tried.
			if _, err := p.Complete(t.Context(), userRequest("again"), nil); err != nil {
				t.Fatalf("second Complete: %v", err)
			}
			var got []string
			for _, r := range s.Requests() {
				got = append(got, r.APIKey)
			}
			want := append(append([]string(nil), tt.wantKeys...), keys[len(tt.wantKeys)%len(keys)])
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("keys used = %v, want %v", got, want)
			}
		})
	}
}

// RunRequestTimeout checks that a provider from start, configured with
// the request timeout it is given, gives up on an answer that does not
// come with picoclaw.ErrTemporary wrapping context.DeadlineExceeded, and
// not with the caller's context.Canceled.
func RunRequestTimeout(t *testing.T, start func(t *testing.T, timeout time.Duration) (Fake, picoclaw.Provider)) {
	t.Helper()
	s, p := start(t, 50*time.Millisecond)
	s.Enqueue(Reply{Delay: time.Minute, Content: "too late"})
	_, err := p.Complete(t.Context(), userRequest("hi"), nil)
	if !errors.Is(err, picoclaw.ErrTemporary) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ErrTemporary wrapping context.DeadlineExceeded", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("err = %v: a provider timeout is not the caller's cancellation", err)
	}
}

// RunConnectionRefused checks that a provider from newProvider for a
// base URL (ending in /v1) where nothing listens fails with
// picoclaw.ErrTemporary.
func RunConnectionRefused(t *testing.T, newProvider func(t *testing.T, baseURL string) picoclaw.Provider) {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/v1"
	srv.Close() // nothing listens there any more
	_, err := newProvider(t, url).Complete(t.Context(), userRequest("hi"), nil)
	if !errors.Is(err, picoclaw.ErrTemporary) {
		t.Errorf("err = %v, want ErrTemporary", err)
	}
}
