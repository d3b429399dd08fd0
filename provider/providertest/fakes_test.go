package providertest

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// postTo sends body to url with the headers given as name, value pairs;
// an empty value leaves that header out.
func postTo(t *testing.T, url, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] != "" {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// sseBlocks reads an SSE body into its events, each the lines before a
// blank line. An event with no lines or without its blank line fails t.
func sseBlocks(t *testing.T, r io.Reader) [][]string {
	t.Helper()
	var out [][]string
	var cur []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if sc.Text() != "" {
			cur = append(cur, sc.Text())
			continue
		}
		if len(cur) == 0 {
			t.Fatalf("blank line without an event after event %d", len(out))
		}
		out, cur = append(out, cur), nil
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cur) > 0 {
		t.Fatalf("no blank line after %q", cur)
	}
	return out
}

// started closes s when the test ends.
func started[F interface{ Close() }](t *testing.T, s F) F {
	t.Cleanup(s.Close)
	return s
}

// wantScripted checks that resp carries the reply scripted as "scripted".
// After a refused request it shows that the refusal did not use it up.
func wantScripted(t *testing.T, resp *http.Response) {
	t.Helper()
	if b, _ := io.ReadAll(resp.Body); !bytes.Contains(b, []byte(`"scripted"`)) {
		t.Errorf("next valid request got %s, want the scripted reply", b)
	}
}

// scriptedFake is what the tests below need of a fake, whatever its wire
// format.
type scriptedFake interface {
	FixtureFake
	SetHandler(h func(RecordedRequest) Reply)
	URL() string
}

// TestFakesScriptAndRecord checks the behaviour every fake shares.
func TestFakesScriptAndRecord(t *testing.T) {
	fakes := []struct {
		name    string
		start   func(t *testing.T) scriptedFake
		post    func(t *testing.T, s scriptedFake, body string) *http.Response
		body    string // a valid request whose last user text is "echo me"
		text    string // how a reply's text "%s" shows in the answer
		fixture string // any file will do
	}{
		{
			name:  "OpenAI",
			start: func(t *testing.T) scriptedFake { return started(t, NewOpenAI()) },
			post: func(t *testing.T, s scriptedFake, body string) *http.Response {
				return postTo(t, s.URL()+"/chat/completions", body, "Authorization", "Bearer k")
			},
			body:    `{"model":"m","messages":[{"role":"user","content":"echo me"}]}`,
			text:    `"content":"%s"`,
			fixture: "testdata/openai-error-429-rate-limit.json",
		},
		{
			name:  "Anthropic",
			start: func(t *testing.T) scriptedFake { return started(t, NewAnthropic()) },
			post: func(t *testing.T, s scriptedFake, body string) *http.Response {
				return postTo(t, s.URL()+"/messages", body, "X-Api-Key", "k", "Anthropic-Version", anthropicVersion)
			},
			body:    `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"echo me"}]}`,
			text:    `"text":"%s"`,
			fixture: "testdata/anthropic-error-529-overloaded.json",
		},
	}
	for _, f := range fakes {
		text := func(s string) []byte { return []byte(strings.Replace(f.text, "%s", s, 1)) }
		t.Run(f.name+"/DefaultEchoAndHandler", func(t *testing.T) {
			s := f.start(t)
			if b, _ := io.ReadAll(f.post(t, s, f.body).Body); !bytes.Contains(b, text("echo me")) {
				t.Errorf("default reply %s does not echo the user", b)
			}
			s.SetHandler(func(r RecordedRequest) Reply { return Reply{Content: "handled:" + r.LastUser()} })
			if b, _ := io.ReadAll(f.post(t, s, f.body).Body); !bytes.Contains(b, text("handled:echo me")) {
				t.Errorf("handler reply %s", b)
			}
			s.Enqueue(Reply{Content: "scripted"})
			wantScripted(t, f.post(t, s, f.body)) // the queue goes before the handler
		})
		t.Run(f.name+"/ServeFixtureByteForByte", func(t *testing.T) {
			s := f.start(t)
			s.ServeFixture(f.fixture)
			want, err := os.ReadFile(f.fixture)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := io.ReadAll(f.post(t, s, f.body).Body); !bytes.Equal(got, want) {
				t.Errorf("body = %q, want the file's bytes", got)
			}
		})
		t.Run(f.name+"/UnreadableFixtureIs500", func(t *testing.T) {
			s := f.start(t)
			s.ServeFixture("testdata/no-such-file")
			if resp := f.post(t, s, f.body); resp.StatusCode != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", resp.StatusCode)
			}
		})
		t.Run(f.name+"/WrongPathIs404", func(t *testing.T) {
			s := f.start(t)
			if resp := postTo(t, s.URL()+"/nowhere", f.body); resp.StatusCode != http.StatusNotFound {
				t.Errorf("wrong path: status %d, want 404", resp.StatusCode)
			}
		})
		t.Run(f.name+"/WaitRequests", func(t *testing.T) {
			s := f.start(t)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if _, err := s.WaitRequests(ctx, 1); err == nil {
				t.Error("WaitRequests with a canceled context and no requests returned no error")
			}
			f.post(t, s, f.body)
			if got, err := s.WaitRequests(t.Context(), 1); err != nil || len(got) != 1 || got[0].LastUser() != "echo me" {
				t.Errorf("WaitRequests = %+v, %v; want the one request", got, err)
			}
		})
	}
}
