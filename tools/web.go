package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"picoclaw"
	"picoclaw/internal/netguard"
)

// Limits of web_fetch.
const (
	MaxFetchBody     = 1 << 20 // bytes read from the response
	DefaultFetchChar = 50000   // characters returned unless max_chars says fewer
	maxRedirects     = 5
)

// DefaultUserAgent identifies the assistant to the sites it visits.
const DefaultUserAgent = "Mozilla/5.0 (compatible; picoclaw/0.2; +https://github.com/sipeed/picoclaw)"

// WebOptions configures web_fetch and web_search.
type WebOptions struct {
	// AllowPrivate lets web_fetch reach loopback, private and link-local
	// addresses. Off, the model cannot make the assistant probe the local
	// network or a cloud metadata endpoint.
	AllowPrivate bool
	// HTTPClient is used for web_search as given. web_fetch uses a copy
	// whose transport (an *http.Transport, or http.DefaultTransport when
	// nil) dials only public addresses and no proxy, unless AllowPrivate.
	// Default: a client with a 30s timeout.
	HTTPClient *http.Client
	// UserAgent is sent with every request (default DefaultUserAgent).
	UserAgent string
	// BraveAPIKey selects the Brave Search API; empty uses DuckDuckGo.
	BraveAPIKey string
	// DuckDuckGoURL and BraveURL are the search services' base URLs
	// (default https://html.duckduckgo.com and https://api.search.brave.com).
	DuckDuckGoURL, BraveURL string
	// LookupIP resolves a host name for web_fetch's guard (default: the
	// system resolver). Every answer is checked before one is dialled,
	// and the checked address is the one dialled, so a name resolving to
	// loopback, or to a public and a private address, is refused.
	LookupIP func(ctx context.Context, host string) ([]netip.Addr, error)

	// dial connects to an address already checked (default: netguard's
	// dialer, which checks it once more); tests point the "public"
	// address of a fake site at a local server.
	dial func(ctx context.Context, network, address string) (net.Conn, error)
}

func (o WebOptions) withDefaults() WebOptions {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.UserAgent == "" {
		o.UserAgent = DefaultUserAgent
	}
	if o.DuckDuckGoURL == "" {
		o.DuckDuckGoURL = "https://html.duckduckgo.com"
	}
	if o.BraveURL == "" {
		o.BraveURL = "https://api.search.brave.com"
	}
	return o
}

// NewWebTools returns web_fetch and web_search.
func NewWebTools(opts WebOptions) ([]picoclaw.Tool, error) {
	f, err := NewWebFetchTool(opts)
	if err != nil {
		return nil, err
	}
	return []picoclaw.Tool{f, NewWebSearchTool(opts)}, nil
}

// ErrPrivateAddress is returned when web_fetch is asked to reach a
// loopback, private, link-local or otherwise non-public address.
var ErrPrivateAddress = netguard.ErrPrivateAddress

// WebFetchTool fetches a URL and returns it as readable text.
type WebFetchTool struct {
	client    *http.Client
	userAgent string
	guard     bool
}

// NewWebFetchTool returns web_fetch. It fails when private addresses must
// be refused but HTTPClient's transport is not an *http.Transport, whose
// dialer it needs to guard.
func NewWebFetchTool(opts WebOptions) (*WebFetchTool, error) {
	opts = opts.withDefaults()
	c := *opts.HTTPClient
	if !opts.AllowPrivate {
		tr, err := netguard.Transport(c.Transport)
		if err != nil {
			return nil, fmt.Errorf("web_fetch: HTTPClient: %w", err)
		}
		g := guardedDialer{lookup: opts.LookupIP, dial: opts.dial}
		if g.lookup == nil {
			g.lookup = func(ctx context.Context, host string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			}
		}
		if g.dial == nil {
			g.dial = tr.DialContext
		}
		tr.DialContext = g.DialContext
		c.Transport = tr
	}
	guard := !opts.AllowPrivate
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirect to unsupported scheme %q", req.URL.Scheme)
		}
		if guard {
			if err := netguard.CheckURL(req.URL); err != nil {
				return fmt.Errorf("redirect: %w", err)
			}
		}
		return nil
	}
	return &WebFetchTool{client: &c, userAgent: opts.UserAgent, guard: !opts.AllowPrivate}, nil
}

// Def describes web_fetch.
func (t *WebFetchTool) Def() picoclaw.ToolDef {
	return def("web_fetch",
		"Fetch a web page (http or https) and return its readable text: headings, paragraphs and links, without scripts, styles or navigation.",
		`{"type":"object","properties":{"url":{"type":"string","description":"URL to fetch"},"max_chars":{"type":"integer","minimum":100,"description":"Most characters to return (default and maximum 50000)"}},"required":["url"]}`)
}

type fetchArgs struct {
	URL      string `json:"url"`
	MaxChars int    `json:"max_chars"`
}

// Call fetches the URL.
func (t *WebFetchTool) Call(ctx context.Context, raw json.RawMessage) (string, error) {
	var a fetchArgs
	if err := decodeArgs("web_fetch", raw, &a, `{"url": "https://example.com/", "max_chars": 20000}`); err != nil {
		return "", err
	}
	u, err := url.Parse(strings.TrimSpace(a.URL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("web_fetch: url must be an absolute http or https URL, got %q", a.URL)
	}
	maxChars := DefaultFetchChar
	if a.MaxChars > 0 {
		maxChars = min(max(a.MaxChars, 100), DefaultFetchChar)
	}
	if t.guard {
		if err := netguard.CheckURL(u); err != nil {
			return "", fmt.Errorf("web_fetch: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("web_fetch: %w", err)
	}
	req.Header.Set("User-Agent", t.userAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5")
	resp, err := t.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("web_fetch: GET %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxFetchBody+1))
	if err != nil {
		return "", fmt.Errorf("web_fetch: read %s: %w", u.Redacted(), err)
	}
	cut := len(body) > MaxFetchBody
	if cut {
		body = body[:MaxFetchBody]
	}
	if resp.StatusCode >= 400 {
		return "", fmt.Errorf("web_fetch: GET %s: HTTP %s", u.Redacted(), resp.Status)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var title, text string
	switch {
	case ct == "text/html" || ct == "application/xhtml+xml" || (ct == "" && looksLikeHTML(body)):
		title, text = htmlToText(strings.ToValidUTF8(string(body), "\uFFFD"), resp.Request.URL)
	case strings.HasPrefix(ct, "text/") || ct == "" || ct == "application/json" || strings.HasSuffix(ct, "+json") ||
		ct == "application/xml" || strings.HasSuffix(ct, "+xml") || ct == "application/javascript":
		text = strings.ToValidUTF8(string(body), "\uFFFD")
	default:
		return "", fmt.Errorf("web_fetch: %s has content type %q, which is not text", u.Redacted(), ct)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "URL: %s\n", resp.Request.URL.Redacted())
	if title != "" {
		fmt.Fprintf(&b, "Title: %s\n", title)
	}
	b.WriteString("\n")
	if r := []rune(text); len(r) > maxChars {
		text = string(r[:maxChars])
		cut = true
	}
	b.WriteString(text)
	if cut {
		fmt.Fprintf(&b, "\n\n[truncated: content is longer than shown; limit %d characters]", maxChars)
	}
	return b.String(), nil
}

func looksLikeHTML(b []byte) bool {
	head := strings.ToLower(string(b[:min(len(b), 512)]))
	return strings.Contains(head, "<html") || strings.Contains(head, "<!doctype html")
}
