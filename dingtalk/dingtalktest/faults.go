package dingtalktest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// WebhookFault is a way a session webhook post fails at the HTTP level,
// as DingTalk's front ends (tengine) and the networks in between do.
type WebhookFault int

const (
	// WebhookHTTP500 answers HTTP 500 with tengine's HTML error page.
	WebhookHTTP500 WebhookFault = iota + 1
	// WebhookHang never answers: the post waits until the client gives up
	// (its timeout) or the fake closes.
	WebhookHang
	// WebhookRedirect answers 302 to the DingTalk login page, as a front
	// end does for a request it does not route.
	WebhookRedirect
	// WebhookNotJSON answers HTTP 200 with an HTML page instead of the
	// errcode JSON (a captive portal or proxy).
	WebhookNotJSON
)

func (f WebhookFault) String() string {
	switch f {
	case WebhookHTTP500:
		return "HTTP 500"
	case WebhookHang:
		return "no answer"
	case WebhookRedirect:
		return "HTTP 302"
	case WebhookNotJSON:
		return "non-JSON body"
	}
	return "unknown fault"
}

// WebhookCall records one post to a session webhook, faults included.
type WebhookCall struct {
	Session string
	Fault   WebhookFault // 0 when the fake answered with an errcode
	Errcode int          // the errcode answered (no fault)
}

// FailWebhookHTTP makes the next times webhook posts fail with f, without
// delivering them. times ≤ 0 clears these faults.
func (s *Server) FailWebhookHTTP(f WebhookFault, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times <= 0 {
		s.hookHTTPFail = nil
		return
	}
	for range times {
		s.hookHTTPFail = append(s.hookHTTPFail, f)
	}
}

// WebhookCalls returns every webhook post received, in order.
func (s *Server) WebhookCalls() []WebhookCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WebhookCall(nil), s.hookCalls...)
}

// takeWebhookFault pops the next HTTP-level fault, recording the call.
// Callers hold s.mu.
func (s *Server) takeWebhookFaultLocked(token string) (WebhookFault, bool) {
	if len(s.hookHTTPFail) == 0 {
		return 0, false
	}
	f := s.hookHTTPFail[0]
	s.hookHTTPFail = s.hookHTTPFail[1:]
	s.hookCalls = append(s.hookCalls, WebhookCall{Session: token, Fault: f})
	s.notifyLocked()
	return f, true
}

// writeWebhookFault answers f; it is called without s.mu held, since
// WebhookHang blocks.
func (s *Server) writeWebhookFault(w http.ResponseWriter, r *http.Request, f WebhookFault) {
	switch f {
	case WebhookHTTP500:
		writeHTML(w, http.StatusInternalServerError)
	case WebhookHang:
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
	case WebhookRedirect:
		w.Header().Set("Location", "https://login.dingtalk.com/oauth2/challenge.htm")
		writeHTML(w, http.StatusFound)
	case WebhookNotJSON:
		writeHTML(w, http.StatusOK)
	}
}

// writeHTML answers status with a tengine error page.
func writeHTML(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, tenginePage(status))
}

func tenginePage(status int) string {
	text := http.StatusText(status)
	if status == http.StatusOK {
		text = "Welcome"
	}
	return "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
		"</h1></center>\r\n<hr><center>tengine</center>\r\n</body>\r\n</html>\r\n"
}

// FailOpenAPIUntilRecovered makes every call to path answer status with
// body (empty: the usual one, see FailOpenAPI) until RecoverOpenAPI: an
// outage of unknown length. Queued FailOpenAPI faults are answered first.
func (s *Server) FailOpenAPIUntilRecovered(path string, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oa.outage[path] = apiFault{status, body}
}

// RecoverOpenAPI ends the outage of path.
func (s *Server) RecoverOpenAPI(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.oa.outage, path)
}

// FailedOpenAPICalls counts the calls to path answered with a non-2xx
// status.
func (s *Server) FailedOpenAPICalls(path string) int {
	n := 0
	for _, r := range s.OpenAPIRequests() {
		if r.Path == path && (r.Status < 200 || r.Status > 299) {
			n++
		}
	}
	return n
}

// DeliveredCount counts the messages carrying text that reached a chat,
// by session webhook or by OpenAPI: a test asserts "answered exactly
// once" with it. A message matches when its text contains text.
func (s *Server) DeliveredCount(text string) int {
	n := 0
	for _, r := range s.Replies() {
		if strings.Contains(r.Text, text) {
			n++
		}
	}
	for _, m := range s.OpenAPISends() {
		if strings.Contains(m.Text, text) {
			n++
		}
	}
	return n
}

// WaitFailedOpenAPICalls waits until at least n calls to path were
// answered with a non-2xx status.
func (s *Server) WaitFailedOpenAPICalls(ctx context.Context, path string, n int) error {
	err := s.waitFor(ctx, func() bool {
		got := 0
		for _, r := range s.oa.requests {
			if r.Path == path && (r.Status < 200 || r.Status > 299) {
				got++
			}
		}
		return got >= n
	})
	if err != nil {
		return fmt.Errorf("dingtalktest: wait for %d failed calls to %s: %w", n, path, err)
	}
	return nil
}
