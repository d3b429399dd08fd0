package dingtalktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Paths served by the fake.
const (
	OpenPath    = "/v1.0/gateway/connections/open"
	ConnectPath = "/connect"
	WebhookPath = "/robot/sendBySession"
)

// Subscription is one entry of the open request's subscriptions.
type Subscription struct {
	Type  string `json:"type"`
	Topic string `json:"topic"`
}

// OpenRequest records one POST to connections/open. The secret itself is
// not kept, only whether it matched.
type OpenRequest struct {
	ClientID      string
	SecretOK      bool
	UA            string
	LocalIP       string
	Subscriptions []Subscription
	ContentType   string
	Accept        string
	Status        int    // the HTTP status the fake answered
	Ticket        string // the ticket issued, "" when the open failed
}

type openFault struct {
	status int
	body   string
}

// FailOpen makes the next times calls to connections/open answer status
// with body verbatim (JSON such as a 400 systemError, or an HTML page).
// times ≤ 0 clears pending faults.
func (s *Server) FailOpen(status int, body string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if times <= 0 {
		s.openFail = nil
		return
	}
	for range times {
		s.openFail = append(s.openFail, openFault{status, body})
	}
}

// OpenRequests returns every connections/open call received so far.
func (s *Server) OpenRequests() []OpenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OpenRequest, len(s.opens))
	copy(out, s.opens)
	return out
}

// OpenCount is len(OpenRequests()).
func (s *Server) OpenCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.opens)
}

// WaitOpens waits until connections/open has been called n times in total.
func (s *Server) WaitOpens(ctx context.Context, n int) error {
	if err := s.waitFor(ctx, func() bool { return len(s.opens) >= n }); err != nil {
		return fmt.Errorf("dingtalktest: wait for %d open calls: %w", n, err)
	}
	return nil
}

type openBody struct {
	ClientID      string         `json:"clientId"`
	ClientSecret  string         `json:"clientSecret"`
	Subscriptions []Subscription `json:"subscriptions"`
	UA            string         `json:"ua"`
	LocalIP       string         `json:"localIp"`
}

func (s *Server) handleOpen(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	rec := OpenRequest{ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept")}
	var body openBody
	jsonErr := json.Unmarshal(raw, &body)
	rec.ClientID, rec.UA, rec.LocalIP, rec.Subscriptions = body.ClientID, body.UA, body.LocalIP, body.Subscriptions

	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	secret, known := s.appSecretLocked(body.ClientID)
	rec.SecretOK = jsonErr == nil && known && body.ClientSecret != "" && body.ClientSecret == secret

	if len(s.openFail) > 0 {
		f := s.openFail[0]
		s.openFail = s.openFail[1:]
		rec.Status = f.status
		s.opens = append(s.opens, rec)
		ct := "text/html"
		if strings.HasPrefix(strings.TrimSpace(f.body), "{") {
			ct = "application/json;charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
		return
	}
	switch {
	case jsonErr != nil || !strings.Contains(rec.ContentType, "json"):
		rec.Status = http.StatusBadRequest
		s.opens = append(s.opens, rec)
		writeAPIError(w, rec.Status, "invalidParameter", "请求参数不合法")
	case !known || !rec.SecretOK:
		rec.Status = http.StatusUnauthorized
		s.opens = append(s.opens, rec)
		writeAPIError(w, rec.Status, "authFailed", "鉴权失败")
	default:
		rec.Status = http.StatusOK
		rec.Ticket = newUUID()
		s.tickets[rec.Ticket] = ticket{expires: time.Now().Add(s.TicketTTL), app: body.ClientID}
		s.opens = append(s.opens, rec)
		endpoint := s.wsBase + ConnectPath
		writeJSON(w, http.StatusOK, map[string]string{"endpoint": endpoint, "ticket": rec.Ticket})
	}
}

// writeAPIError answers like api.dingtalk.com: non-2xx with
// {"requestid","code","message"}.
func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, struct {
		RequestID string `json:"requestid"`
		Code      string `json:"code"`
		Message   string `json:"message"`
	}{newRequestID(), code, msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ticket is an issued connection ticket and the app it was issued to.
type ticket struct {
	expires time.Time
	app     string
}

// takeTicket consumes a ticket: single use, valid until it expires. It
// returns the app the ticket was issued to.
func (s *Server) takeTicket(t string) (app string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tk, ok := s.tickets[t]
	delete(s.tickets, t)
	return tk.app, ok && time.Now().Before(tk.expires)
}
