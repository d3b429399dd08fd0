package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/html"

	"picoclaw"
)

// Result counts of web_search.
const (
	defaultSearchCount = 5
	maxSearchCount     = 10
	maxSearchBody      = 2 << 20
)

// WebSearchTool searches the web with the Brave Search API when a key is
// configured, else with DuckDuckGo's HTML endpoint.
type WebSearchTool struct {
	opts WebOptions
}

// NewWebSearchTool returns web_search.
func NewWebSearchTool(opts WebOptions) *WebSearchTool {
	return &WebSearchTool{opts: opts.withDefaults()}
}

// Def describes web_search.
func (t *WebSearchTool) Def() picoclaw.ToolDef {
	return def("web_search",
		"Search the web. Returns titles, URLs and snippets; use web_fetch to read a result.",
		`{"type":"object","properties":{"query":{"type":"string","description":"Search query"},"count":{"type":"integer","minimum":1,"maximum":10,"description":"Number of results (default 5)"}},"required":["query"]}`)
}

type searchArgs struct {
	Query string `json:"query"`
	Count int    `json:"count"`
}

type searchResult struct {
	Title, URL, Snippet string
}

// Call runs the search.
func (t *WebSearchTool) Call(ctx context.Context, raw json.RawMessage) (string, error) {
	var a searchArgs
	if err := decodeArgs("web_search", raw, &a, `{"query": "DingTalk stream mode", "count": 5}`); err != nil {
		return "", err
	}
	a.Query = strings.TrimSpace(a.Query)
	if a.Query == "" {
		return "", fmt.Errorf("web_search: query is required")
	}
	count := defaultSearchCount
	if a.Count > 0 {
		count = min(a.Count, maxSearchCount)
	}
	var (
		results []searchResult
		err     error
	)
	if t.opts.BraveAPIKey != "" {
		results, err = t.brave(ctx, a.Query, count)
	} else {
		results, err = t.duckDuckGo(ctx, a.Query, count)
	}
	if err != nil {
		return "", err
	}
	if len(results) == 0 {
		return fmt.Sprintf("No results for %q.", a.Query), nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Results for %q:\n", a.Query)
	for i, r := range results {
		fmt.Fprintf(&b, "\n%d. %s\n   %s\n", i+1, r.Title, r.URL)
		if r.Snippet != "" {
			fmt.Fprintf(&b, "   %s\n", r.Snippet)
		}
	}
	return b.String(), nil
}

// get sends a GET and returns the body of a 200 answer. The error never
// contains request headers, where the API key travels.
func (t *WebSearchTool) get(ctx context.Context, service, u string, header http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("web_search: %s: %w", service, err)
	}
	req.Header = header
	req.Header.Set("User-Agent", t.opts.UserAgent)
	resp, err := t.opts.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("web_search: %s: %w: %w", service, picoclaw.ErrTemporary, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSearchBody))
	if err != nil {
		return nil, fmt.Errorf("web_search: %s: read response: %w", service, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return body, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("web_search: %s: HTTP %s: %w (check the API key)", service, resp.Status, picoclaw.ErrAuth)
	case resp.StatusCode == http.StatusTooManyRequests:
		return nil, fmt.Errorf("web_search: %s: %w", service, &picoclaw.RateLimitError{Err: fmt.Errorf("HTTP %s", resp.Status)})
	default:
		return nil, fmt.Errorf("web_search: %s: unexpected HTTP %s", service, resp.Status)
	}
}

// brave queries GET /res/v1/web/search with the X-Subscription-Token header.
func (t *WebSearchTool) brave(ctx context.Context, query string, count int) ([]searchResult, error) {
	u := strings.TrimRight(t.opts.BraveURL, "/") + "/res/v1/web/search?" +
		url.Values{"q": {query}, "count": {strconv.Itoa(count)}}.Encode()
	h := http.Header{}
	h.Set("Accept", "application/json")
	h.Set("X-Subscription-Token", t.opts.BraveAPIKey)
	body, err := t.get(ctx, "brave", u, h)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Web struct {
			Results []struct {
				Title       string `json:"title"`
				URL         string `json:"url"`
				Description string `json:"description"`
			} `json:"results"`
		} `json:"web"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("web_search: brave: decode response: %w: %w", picoclaw.ErrBadResponse, err)
	}
	var out []searchResult
	for _, r := range resp.Web.Results {
		if len(out) == count {
			break
		}
		// Brave marks matches with <strong>; the model wants plain text.
		_, title := htmlToText(r.Title, nil)
		_, snippet := htmlToText(r.Description, nil)
		out = append(out, searchResult{Title: title, URL: r.URL, Snippet: snippet})
	}
	return out, nil
}

// duckDuckGo scrapes https://html.duckduckgo.com/html/?q=…, the page for
// browsers without JavaScript.
func (t *WebSearchTool) duckDuckGo(ctx context.Context, query string, count int) ([]searchResult, error) {
	u := strings.TrimRight(t.opts.DuckDuckGoURL, "/") + "/html/?" + url.Values{"q": {query}}.Encode()
	h := http.Header{}
	h.Set("Accept", "text/html")
	body, err := t.get(ctx, "duckduckgo", u, h)
	if err != nil {
		return nil, err
	}
	return parseDuckDuckGo(string(body), count), nil
}

// parseDuckDuckGo reads result links (a.result__a) and snippets
// (.result__snippet) from DuckDuckGo's HTML results page, skipping ads.
func parseDuckDuckGo(page string, count int) []searchResult {
	var (
		out     []searchResult
		capture *strings.Builder // text of the title or snippet being read
		field   *string
		endTag  string
		depth   int
	)
	htmlTokens(page, func(tk html.Token) bool {
		if capture != nil {
			switch {
			case tk.Type == html.TextToken:
				capture.WriteString(tk.Data)
			case tk.Type == html.StartTagToken && tk.Data == endTag:
				depth++
			case tk.Type == html.EndTagToken && tk.Data == endTag:
				if depth--; depth == 0 {
					*field = strings.Join(strings.Fields(capture.String()), " ")
					capture = nil
				}
			}
			return len(out) <= count
		}
		if tk.Type != html.StartTagToken && tk.Type != html.SelfClosingTagToken {
			return true
		}
		switch {
		case tk.Data == "a" && hasClass(tk, "result__a"):
			link := ddgTarget(tagAttr(tk, "href"))
			if link == "" {
				return true // an ad, or a link that leads nowhere useful
			}
			out = append(out, searchResult{URL: link})
			field = &out[len(out)-1].Title
		case hasClass(tk, "result__snippet") && len(out) > 0 && out[len(out)-1].Snippet == "":
			field = &out[len(out)-1].Snippet
		default:
			return true
		}
		capture, endTag, depth = &strings.Builder{}, tk.Data, 1
		return len(out) <= count
	})
	if len(out) > count {
		out = out[:count]
	}
	return out
}

// ddgTarget turns a result href into the destination URL: DuckDuckGo wraps
// it as //duckduckgo.com/l/?uddg=<escaped URL>&rut=…; ads go through
// /y.js and are dropped.
func ddgTarget(href string) string {
	if strings.HasPrefix(href, "//") {
		href = "https:" + href
	}
	u, err := url.Parse(href)
	if err != nil {
		return ""
	}
	if strings.HasSuffix(u.Hostname(), "duckduckgo.com") || u.Host == "" {
		if target := u.Query().Get("uddg"); target != "" {
			return target
		}
		return ""
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return ""
	}
	return u.String()
}
