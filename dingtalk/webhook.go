package dingtalk

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/internal/wire"
	"picoclaw/internal/backoff"
	"picoclaw/internal/text"
)

// Webhook errcodes (sendBySession answers HTTP 200 and reports failure in
// errcode; errmsg wording changes over time, so only errcode is matched).
const (
	errcodeOK             = 0
	errcodeSendTooFast    = 130101 // throttled: 20 messages per minute per chat
	errcodeTooManyPerMin  = 660026 // the newer throttling code
	errcodeSessionExpired = 300001
	errcodeBodyTooLarge   = 460101 // body over 20,000 bytes
)

var (
	// errSessionExpired: the session webhook is no longer valid (errcode
	// 300001); a new message from the chat brings a fresh one.
	errSessionExpired = errors.New("session webhook expired")
	// errBodyTooLarge: DingTalk refused the body as over 20,000 bytes
	// (errcode 460101).
	errBodyTooLarge = errors.New("message body too large")
)

// webhookError is a non-zero errcode from a session webhook. Target names
// the webhook by host and path only: its query is a credential.
type webhookError struct {
	Target string
	Code   int
	Msg    string
	kind   error // errSessionExpired, errBodyTooLarge or nil
}

func (e *webhookError) Error() string {
	return fmt.Sprintf("dingtalk: webhook %s: errcode %d: %s", e.Target, e.Code, e.Msg)
}

// Unwrap returns the error's kind, for errors.Is.
func (e *webhookError) Unwrap() error { return e.kind }

// webhookRetry says how often and how patiently throttled (130101,
// 660026) and temporary (5xx, network) failures are retried.
type webhookRetry struct {
	Attempts int           // total tries; 0 means 4
	Min, Max time.Duration // backoff bounds; 0 means 2s and 30s
	// FailFast returns temporary failures (5xx, timeouts, dropped
	// connections) at once instead of retrying them, for a caller that
	// has another route; throttling is still retried.
	FailFast bool
}

// webhookClient posts replies to session webhooks.
type webhookClient struct {
	HTTP   *http.Client // nil means http.DefaultClient
	Logger *slog.Logger // nil discards
	// APIBase is the configured DingTalk API base; its host:port is also
	// accepted as a webhook host (over http if APIBase is http), so tests
	// can point webhooks at 127.0.0.1.
	APIBase string
	Retry   webhookRetry
}

// maxErrmsg bounds the errmsg copied into errors.
const maxErrmsg = 200

// AllowedWebhook checks that raw is a DingTalk webhook: https on
// dingtalk.com or a subdomain, or the APIBase host. The session webhook
// comes from the network, so without this check a forged callback could
// make the bot post answers anywhere.
func (c *webhookClient) AllowedWebhook(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, query included
		}
		return fmt.Errorf("dingtalk: webhook URL does not parse: %w", err)
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return errors.New("dingtalk: webhook URL has no host")
	}
	if u.User != nil {
		return fmt.Errorf("dingtalk: webhook host %q is not allowed: URL carries user info", host)
	}
	// Plain http only where the configured base itself is http (a local
	// fake): never downgrade a real DingTalk host to plaintext.
	if base, err := url.Parse(c.APIBase); err == nil && c.APIBase != "" && base.Host != "" &&
		strings.EqualFold(u.Host, base.Host) && (u.Scheme == "https" || (u.Scheme == "http" && base.Scheme == "http")) {
		return nil
	}
	if u.Scheme != "https" {
		return fmt.Errorf("dingtalk: webhook host %q is not allowed: scheme %q is not https", host, u.Scheme)
	}
	if host == "dingtalk.com" || strings.HasSuffix(host, ".dingtalk.com") {
		return nil
	}
	return fmt.Errorf("dingtalk: webhook host %q is not allowed: not a dingtalk.com host", host)
}

// SendMarkdown posts a markdown message to a session webhook, retrying
// throttling and temporary failures. An empty title is made from the
// first words of text. Errors name the webhook by host and path only.
func (c *webhookClient) SendMarkdown(ctx context.Context, webhook, title, text string, atUserIDs []string) error {
	if err := c.AllowedWebhook(webhook); err != nil {
		return err
	}
	if title == "" {
		title = picoclaw.Title(text, 20)
	}
	body, err := markdownBody(title, text, atUserIDs)
	if err != nil {
		return fmt.Errorf("dingtalk: encode markdown message: %w", err)
	}
	target := webhookTarget(webhook)
	attempts := c.Retry.Attempts
	if attempts <= 0 {
		attempts = 4
	}
	b := &backoff.Backoff{Min: cmp.Or(c.Retry.Min, 2*time.Second), Max: cmp.Or(c.Retry.Max, 30*time.Second)}
	log := c.logger()
	for try := 1; ; try++ {
		err = c.post(ctx, webhook, target, body)
		var rl *picoclaw.RateLimitError
		throttled := errors.As(err, &rl)
		if err == nil || !picoclaw.IsRetryable(err) || try >= attempts || ctx.Err() != nil || (c.Retry.FailFast && !throttled) {
			return err
		}
		delay := b.Next()
		if throttled && rl.RetryAfter > delay {
			delay = rl.RetryAfter
		}
		log.Warn("dingtalk: webhook send failed, retrying", "webhook", target, "attempt", try, "delay", delay, "err", err)
		if serr := backoff.Sleep(ctx, delay); serr != nil {
			return fmt.Errorf("dingtalk: webhook %s: retry interrupted: %w (last error: %w)", target, serr, err)
		}
	}
}

func (c *webhookClient) post(ctx context.Context, webhook, target string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhook, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("dingtalk: webhook %s: build request: %w", target, wire.StripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("dingtalk: webhook %s: %w", target, ctx.Err())
		}
		return fmt.Errorf("dingtalk: webhook %s: %w: %w", target, picoclaw.ErrTemporary, wire.StripURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("dingtalk: webhook %s: read answer: %w: %w", target, picoclaw.ErrTemporary, wire.StripURL(err))
	}
	switch {
	case resp.StatusCode >= 500:
		err := fmt.Errorf("dingtalk: webhook %s: %w: HTTP %d", target, picoclaw.ErrTemporary, resp.StatusCode)
		if d := wire.RetryAfter(resp.Header, time.Now()); d > 0 {
			return &picoclaw.RateLimitError{RetryAfter: d, Err: err}
		}
		return err
	case resp.StatusCode == http.StatusTooManyRequests:
		return &picoclaw.RateLimitError{RetryAfter: wire.RetryAfter(resp.Header, time.Now()), Err: fmt.Errorf("dingtalk: webhook %s: HTTP 429", target)}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		// Redirects are never followed (see client): the answer was not
		// delivered, whatever the body says.
		return fmt.Errorf("dingtalk: webhook %s: %w: HTTP %d redirect, not followed", target, picoclaw.ErrBadResponse, resp.StatusCode)
	}
	var ans struct {
		Code *int   `json:"errcode"`
		Msg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil || ans.Code == nil {
		return fmt.Errorf("dingtalk: webhook %s: %w: HTTP %d, answer without errcode (%d bytes)",
			target, picoclaw.ErrBadResponse, resp.StatusCode, len(raw))
	}
	werr := &webhookError{Target: target, Code: *ans.Code, Msg: text.Snippet(ans.Msg, maxErrmsg)}
	switch *ans.Code {
	case errcodeOK:
		c.logger().Debug("dingtalk: webhook message sent", "webhook", target, "bytes", len(body))
		return nil
	case errcodeSendTooFast, errcodeTooManyPerMin:
		return &picoclaw.RateLimitError{Err: werr}
	case errcodeSessionExpired:
		werr.kind = errSessionExpired
	case errcodeBodyTooLarge:
		werr.kind = errBodyTooLarge
	}
	return werr
}

// client returns the HTTP client with redirects disabled: a redirect
// would carry the answer to a host AllowedWebhook never checked.
func (c *webhookClient) client() *http.Client {
	hc := http.Client{}
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

func (c *webhookClient) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// markdownBody encodes the webhook body without HTML escaping, so that
// <, > and & stay one byte each.
func markdownBody(title, text string, atUserIDs []string) ([]byte, error) {
	if atUserIDs == nil {
		atUserIDs = []string{}
	}
	type markdown struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	}
	type at struct {
		AtUserIDs []string `json:"atUserIds"`
		IsAtAll   bool     `json:"isAtAll"`
	}
	msg := struct {
		MsgType  string   `json:"msgtype"`
		Markdown markdown `json:"markdown"`
		At       at       `json:"at"`
	}{"markdown", markdown{title, text}, at{atUserIDs, false}}
	return wire.EncodeJSON(msg)
}

// webhookTarget describes a webhook URL by host and path, dropping the
// query (the session token) and any user info.
func webhookTarget(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Host + u.EscapedPath()
}
