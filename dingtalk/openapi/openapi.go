package openapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"picoclaw"
	"picoclaw/dingtalk/internal/wire"
	"picoclaw/internal/backoff"
)

// Default hosts: api.dingtalk.com serves the token and robot calls, the
// legacy oapi.dingtalk.com serves media/upload.
const (
	DefaultAPIBase  = "https://api.dingtalk.com"
	DefaultOAPIBase = "https://oapi.dingtalk.com"
)

// DefaultCallTimeout bounds a short call (token, robot send, download
// link): an endpoint that answers late keeps a chat waiting no longer
// than this.
const DefaultCallTimeout = 15 * time.Second

// accessTokenHeader carries the access token on every api.dingtalk.com call.
const accessTokenHeader = "x-acs-dingtalk-access-token"

// Retry policy of OpenAPI calls.
const (
	openAPIQPSRetries  = 3 // 403 QpsLimit: DingTalk counts per second, so a short wait is enough
	openAPITempRetries = 3 // 5xx and network failures
	openAPIQPSWait     = time.Second
	// maxInlineWait is the longest Retry-After waited out inside a call;
	// a longer one is returned to the caller.
	maxInlineWait = 8 * time.Second
	maxAPIAnswer  = 1 << 20
)

// Config configures a Client. ClientID and ClientSecret
// (the app's AppKey and AppSecret) are required.
type Config struct {
	ClientID, ClientSecret string
	RobotCode              string // default ClientID
	APIBase                string // default DefaultAPIBase
	// OAPIBase is the legacy host for media upload: DefaultOAPIBase when
	// APIBase is the default, else APIBase (a local fake serves both).
	OAPIBase   string
	HTTPClient *http.Client // nil → a client with a 30 s timeout; used for media
	// CallTimeout bounds the short calls (token, robot sends, download
	// links), whatever HTTPClient's timeout; default DefaultCallTimeout.
	CallTimeout time.Duration
	Logger      *slog.Logger
	// MinBackoff and MaxBackoff bound the waits between the retries inside
	// one call (5xx, network failures); defaults DefaultMinBackoff and
	// DefaultMaxBackoff. QPS throttling waits about a second, or about
	// MaxBackoff when that is shorter.
	MinBackoff, MaxBackoff time.Duration
	// CredentialKeys names, in a rejected-credentials error, where the
	// user fixes them; default "channels.dingtalk.client_id/client_secret".
	CredentialKeys string
}

// Defaults of Config's retry waits.
const (
	DefaultMinBackoff = 500 * time.Millisecond
	DefaultMaxBackoff = 8 * time.Second
)

// Client is a client of DingTalk's OpenAPI for robots: proactive sends
// to single and group chats, and media download and upload. It caches
// the app's access token and is safe for concurrent use.
type Client struct {
	cfg      Config
	log      *slog.Logger
	hc       *http.Client // media transfers
	callHC   *http.Client // short calls, with CallTimeout
	apiBase  string
	oapiBase string

	mu        sync.Mutex
	token     string
	refreshAt time.Time // refresh from here on
	expiresAt time.Time // unusable from here on
	flight    *tokenFlight
}

// New checks cfg and applies defaults.
func New(cfg Config) (*Client, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("dingtalk: new openapi client: client id and client secret are required")
	}
	if cfg.RobotCode == "" {
		cfg.RobotCode = cfg.ClientID
	}
	if cfg.APIBase == "" {
		cfg.APIBase = DefaultAPIBase
	}
	cfg.APIBase = strings.TrimRight(cfg.APIBase, "/")
	if cfg.OAPIBase == "" {
		cfg.OAPIBase = cfg.APIBase
		if cfg.APIBase == DefaultAPIBase {
			cfg.OAPIBase = DefaultOAPIBase
		}
	}
	cfg.OAPIBase = strings.TrimRight(cfg.OAPIBase, "/")
	for _, base := range []string{cfg.APIBase, cfg.OAPIBase} {
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("dingtalk: new openapi client: base %q is not an http(s) URL", base)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	hc := http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	// A redirect would carry the token header to a host never checked
	// (net/http drops only Authorization and cookies across hosts).
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	callHC := hc
	callHC.Timeout = cmp.Or(cfg.CallTimeout, DefaultCallTimeout)
	return &Client{cfg: cfg, log: cfg.Logger, hc: &hc, callHC: &callHC, apiBase: cfg.APIBase, oapiBase: cfg.OAPIBase}, nil
}

// RobotCode is the robot code sent with every robot call.
func (a *Client) RobotCode() string { return a.cfg.RobotCode }

// Error is a failed answer of DingTalk's API: a non-2xx status with
// {"code","message","requestid"}, or a non-zero errcode of the legacy
// host (then Code holds the number). The access token never appears in it.
type Error struct {
	Status                   int
	Code, Message, RequestID string
	// RetryAfter is the answer's Retry-After header; zero when absent.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dingtalk api: HTTP %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (requestid " + e.RequestID + ")")
	}
	return b.String()
}

// errQPSLimit is the cause inside the RateLimitError of a QpsLimit answer.
var errQPSLimit = errors.New("dingtalk api: QPS limit reached")

// Unwrap gives the error's kind: ErrAuth for rejected credentials or
// tokens and missing permissions, a *RateLimitError for throttling,
// ErrTemporary for 5xx; nil otherwise.
func (e *Error) Unwrap() error {
	switch {
	case e.Status == http.StatusUnauthorized || wire.AuthCodes[e.Code] || isTokenCode(e.Code) ||
		e.Code == "Forbidden.AccessDenied.AccessTokenPermissionDenied":
		return picoclaw.ErrAuth
	case e.Status == http.StatusTooManyRequests || isQPSCode(e.Code):
		return &picoclaw.RateLimitError{RetryAfter: max(e.RetryAfter, openAPIQPSWait), Err: errQPSLimit}
	case e.Status >= 500 && e.RetryAfter > 0:
		// An overloaded host said when to come back: still temporary.
		return &picoclaw.RateLimitError{RetryAfter: e.RetryAfter, Err: picoclaw.ErrTemporary}
	case e.Status >= 500 || e.Code == "-1": // -1: the legacy host's "系统繁忙"
		return picoclaw.ErrTemporary
	}
	return nil
}

// tokenCodes mean the access token itself was refused (bad or expired):
// InvalidAuthentication on api.dingtalk.com; 40001, 40014 and 42001 on
// the legacy host.
func isTokenCode(code string) bool {
	switch code {
	case "InvalidAuthentication", "40001", "40014", "42001":
		return true
	}
	return false
}

func isQPSCode(code string) bool { return strings.HasPrefix(code, "Forbidden.AccessDenied.QpsLimit") }

func tokenRejected(err error) bool {
	var ae *Error
	return errors.As(err, &ae) && isTokenCode(ae.Code)
}

// withRetry runs attempt until it succeeds or fails for good. A refused
// token is dropped and attempt runs once more with a fresh one; QPS
// throttling waits about a second; 5xx and network failures back off.
// useToken false runs attempt without a token (the token request itself).
func (a *Client) withRetry(ctx context.Context, op string, useToken bool, attempt func(token string) error) error {
	b := &backoff.Backoff{Min: a.cfg.MinBackoff, Max: a.cfg.MaxBackoff}
	qpsWait := min(openAPIQPSWait, a.cfg.MaxBackoff)
	refreshed := false
	qps, temp := 0, 0
	for {
		token := ""
		if useToken {
			var err error
			if token, err = a.Token(ctx); err != nil {
				return fmt.Errorf("dingtalk: %s: %w", op, err)
			}
		}
		err := attempt(token)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("dingtalk: %s: %w", op, err)
		}
		var delay time.Duration
		var rl *picoclaw.RateLimitError
		switch {
		case useToken && !refreshed && tokenRejected(err):
			refreshed = true
			a.invalidate(token)
			a.log.Info("dingtalk api: access token refused; refreshing it", "op", op, "err", err)
			continue
		case errors.As(err, &rl) && rl.RetryAfter <= openAPIQPSWait && qps < openAPIQPSRetries:
			// A longer Retry-After is left to the caller (the outbox
			// waits it out on disk, not inside this call).
			qps++
			// Jitter spreads out the clients that were throttled together.
			delay = qpsWait*3/4 + rand.N(qpsWait/2+1)
		case errors.Is(err, picoclaw.ErrTemporary) && temp < openAPITempRetries && (rl == nil || rl.RetryAfter <= maxInlineWait):
			temp++
			delay = b.Next()
			if rl != nil {
				delay = max(delay, rl.RetryAfter)
			}
		default:
			return fmt.Errorf("dingtalk: %s: %w", op, err)
		}
		a.log.Warn("dingtalk api: call failed, retrying", "op", op, "delay", delay, "err", err)
		if serr := backoff.Sleep(ctx, delay); serr != nil {
			return fmt.Errorf("dingtalk: %s: retry interrupted: %w (last error: %w)", op, serr, err)
		}
	}
}

// postJSON POSTs in to the API host's path and decodes a 2xx answer into
// out (which may be nil). token "" sends no token header.
func (a *Client) postJSON(ctx context.Context, path, token string, in, out any) error {
	return a.sendJSON(ctx, http.MethodPost, path, token, in, out)
}

// sendJSON is postJSON with another method (the card streaming call is a PUT).
func (a *Client) sendJSON(ctx context.Context, method, path, token string, in, out any) error {
	body, err := wire.EncodeJSON(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.apiBase+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set(accessTokenHeader, token)
	}
	status, header, raw, err := a.do(a.callHC, req)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		e := a.apiError(status, raw, token)
		e.RetryAfter = wire.RetryAfter(header, time.Now())
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: HTTP %d answer is not the expected JSON: %q", picoclaw.ErrBadResponse, status, a.snippet(raw, token))
	}
	return nil
}

// do sends req with hc and reads its answer. Transport errors (timeouts
// included) are ErrTemporary; they never quote the URL, whose query may
// hold a token.
func (a *Client) do(hc *http.Client, req *http.Request) (int, http.Header, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		if cerr := req.Context().Err(); cerr != nil {
			return 0, nil, nil, cerr
		}
		return 0, nil, nil, fmt.Errorf("%w: %w", picoclaw.ErrTemporary, wire.StripURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIAnswer))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read answer: %w: %w", picoclaw.ErrTemporary, wire.StripURL(err))
	}
	return resp.StatusCode, resp.Header, raw, nil
}

// apiError builds the error of a non-2xx answer, which may be JSON or,
// from a front end, an HTML page.
func (a *Client) apiError(status int, raw []byte, token string) *Error {
	var ans struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"requestid"`
		Denied    *struct {
			RequiredScopes []string `json:"requiredScopes"`
		} `json:"accessdenieddetail"`
	}
	e := &Error{Status: status}
	if json.Unmarshal(raw, &ans) == nil && (ans.Code != "" || ans.Message != "") {
		e.Code, e.RequestID = a.snippet([]byte(ans.Code), token), a.snippet([]byte(ans.RequestID), token)
		e.Message = a.snippet([]byte(ans.Message), token)
		if ans.Denied != nil && len(ans.Denied.RequiredScopes) > 0 {
			e.Message += " (required scopes: " + strings.Join(ans.Denied.RequiredScopes, ", ") + ")"
		}
		return e
	}
	if s := a.snippet(raw, token); s != "" {
		e.Message = fmt.Sprintf("non-JSON answer: %q", s)
	}
	return e
}

// snippet makes an untrusted body a short single line with the secret
// and token masked.
func (a *Client) snippet(raw []byte, token string) string {
	return wire.Excerpt(raw, 200, a.cfg.ClientSecret, token)
}
