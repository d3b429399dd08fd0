package stream

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"picoclaw"
	"picoclaw/dingtalk/internal/wire"
	"picoclaw/internal/text"
)

const openPath = "/v1.0/gateway/connections/open"

type subscription struct {
	Type  string `json:"type"`
	Topic string `json:"topic"`
}

// subscriptions are what the official Go SDK v0.9.1 registers by default
// (SYSTEM ping and disconnect) plus the bot-message and card callbacks.
var subscriptions = []subscription{
	{TypeSystem, TopicPing},
	{TypeSystem, TopicDisconnect},
	{TypeCallback, TopicBotMessage},
	{TypeCallback, TopicCardCallback},
}

type openRequest struct {
	ClientID      string         `json:"clientId"`
	ClientSecret  string         `json:"clientSecret"`
	Subscriptions []subscription `json:"subscriptions"`
	UA            string         `json:"ua"`
	LocalIP       string         `json:"localIp"`
}

type endpoint struct {
	Endpoint string `json:"endpoint"`
	Ticket   string `json:"ticket"`
}

// openAnswer holds both the success and the error shape of the answer.
type openAnswer struct {
	endpoint
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestid"`
}

// authError reports credentials that DingTalk rejected; it wraps
// picoclaw.ErrAuth.
type authError struct {
	Status  int
	Code    string
	Message string
	Keys    string // where to fix the credentials
}

func (e *authError) Error() string {
	detail := e.Code
	if e.Message != "" {
		detail += ": " + e.Message
	}
	return fmt.Sprintf("dingtalk: open connection: credentials rejected (%d %s); check %s",
		e.Status, strings.TrimSpace(detail), cmp.Or(e.Keys, DefaultCredentialKeys))
}

func (e *authError) Unwrap() error { return picoclaw.ErrAuth }

// open calls connections/open and returns the socket endpoint and ticket.
func (s *Client) open(ctx context.Context) (endpoint, error) {
	body, err := json.Marshal(openRequest{
		ClientID:      s.cfg.ClientID,
		ClientSecret:  s.cfg.ClientSecret,
		Subscriptions: subscriptions,
		UA:            s.ua,
		LocalIP:       localIP(),
	})
	if err != nil {
		return endpoint{}, fmt.Errorf("dingtalk: open connection: encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.openURL, bytes.NewReader(body))
	if err != nil {
		return endpoint{}, fmt.Errorf("dingtalk: open connection: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json") // without it the gateway may answer XML
	resp, err := s.openHC.Do(req)
	if err != nil {
		return endpoint{}, fmt.Errorf("dingtalk: open connection: %w: %w", picoclaw.ErrTemporary, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return endpoint{}, fmt.Errorf("dingtalk: open connection: read answer: %w: %w", picoclaw.ErrTemporary, err)
	}
	return s.parseOpen(resp.StatusCode, raw)
}

// parseOpen classifies the answer of connections/open. Bodies may be JSON
// or, in front-end failures, an HTML page: never assume JSON.
func (s *Client) parseOpen(status int, raw []byte) (endpoint, error) {
	var ans openAnswer
	isJSON := json.Unmarshal(raw, &ans) == nil
	if status == http.StatusOK && isJSON && ans.Endpoint != "" && ans.Ticket != "" {
		u, err := url.Parse(ans.Endpoint)
		if err == nil && u.Host != "" && (u.Scheme == "wss" || u.Scheme == "ws") {
			return ans.endpoint, nil
		}
		return endpoint{}, fmt.Errorf("dingtalk: open connection: endpoint %q is not a websocket URL: %w",
			s.snippet([]byte(ans.Endpoint)), picoclaw.ErrBadResponse)
	}
	if status == http.StatusUnauthorized || status == http.StatusForbidden || (isJSON && wire.AuthCodes[ans.Code]) {
		e := &authError{Status: status, Code: ans.Code, Message: s.snippet([]byte(ans.Message)), Keys: s.cfg.CredentialKeys}
		if !isJSON || ans.Code == "" {
			e.Code, e.Message = http.StatusText(status), s.snippet(raw)
		}
		return endpoint{}, e
	}
	var detail string
	switch {
	case isJSON && ans.Code != "":
		detail = fmt.Sprintf("%s: %s (requestid %s)", ans.Code, s.snippet([]byte(ans.Message)), ans.RequestID)
	case len(bytes.TrimSpace(raw)) == 0:
		detail = "empty body"
	default:
		detail = fmt.Sprintf("%q", s.snippet(raw))
	}
	kind := picoclaw.ErrTemporary
	if status == http.StatusOK {
		kind = picoclaw.ErrBadResponse
	}
	return endpoint{}, fmt.Errorf("dingtalk: open connection: HTTP %d %s: %w", status, detail, kind)
}

// snippet turns an untrusted body into a short single-line excerpt with
// the secret masked.
func (s *Client) snippet(raw []byte) string {
	return wire.Excerpt(raw, 160, s.cfg.ClientSecret)
}

// redacted is an error whose message has secrets masked; errors.Is/As still
// see the original.
type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// redactErr masks secrets (the ticket, the client secret) in err's text,
// keeping err for errors.Is/As.
func redactErr(err error, secrets ...string) error {
	return &redacted{msg: text.Redact(err.Error(), secrets...), err: err}
}

// localIP is the first non-loopback IPv4 address, as the SDKs report it;
// "" when there is none.
func localIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}
