package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	goanthropic "github.com/liushuangls/go-anthropic/v2"

	"picoclaw"
)

const (
	defaultBaseURL   = "https://api.anthropic.com/v1"
	defaultTimeout   = 120 * time.Second
	defaultMaxTokens = 8192
	// minThinkingBudget is the smallest budget_tokens the API accepts.
	minThinkingBudget = 1024
	// maxNonEventLines bounds the lines of a stream that are no event
	// go-anthropic knows, over the whole stream. Its default of 300 is too
	// few: OpenRouter sends an ": OPENROUTER PROCESSING" comment every
	// few seconds while a model thinks. RequestTimeout bounds the rest.
	maxNonEventLines = 100_000
)

// Config configures a Provider.
type Config struct {
	// BaseURL is the API root including the version, e.g.
	// https://api.anthropic.com/v1 (the default) or
	// https://openrouter.ai/api/v1; "/messages" is appended. A bare host
	// (https://api.anthropic.com) gets "/v1".
	BaseURL string
	// APIKeys are sent as x-api-key in turn, one request each. A request
	// refused with 429, 401 or 403 is tried once more with the next key.
	APIKeys []string
	// Model is the model id sent on the wire, e.g. "claude-sonnet-4-5";
	// Request.Model overrides it.
	Model string
	// RequestTimeout bounds a whole request, streaming included; 0 → 120s.
	RequestTimeout time.Duration
	// CustomHeaders are set on every request (e.g. anthropic-beta).
	CustomHeaders map[string]string
	// ExtraBody keys are merged into the JSON request body (e.g. top_k,
	// metadata); they win over the standard ones.
	ExtraBody map[string]any
	// ThinkingBudget enables extended thinking with this many
	// budget_tokens (at least 1024); 0 leaves it off.
	ThinkingBudget int
	// HTTPClient sends the requests; nil → a new http.Client. Its
	// Transport is wrapped, not replaced.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Provider is a picoclaw.Provider for the Anthropic Messages API. It is
// safe for concurrent use.
type Provider struct {
	baseURL string
	keys    []string
	model   string
	timeout time.Duration
	extra   map[string]any
	headers map[string]string
	budget  int
	http    *http.Client
	log     *slog.Logger
	next    atomic.Uint64 // key rotation
}

var _ picoclaw.Provider = (*Provider)(nil)

// New checks cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	base, err := normaliseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("anthropic: new provider: %w", err)
	}
	if cfg.ThinkingBudget < 0 || cfg.ThinkingBudget > 0 && cfg.ThinkingBudget < minThinkingBudget {
		return nil, fmt.Errorf("anthropic: new provider: thinking budget %d: want 0 (off) or at least %d",
			cfg.ThinkingBudget, minThinkingBudget)
	}
	for k, v := range cfg.ExtraBody {
		if _, err := json.Marshal(v); err != nil {
			return nil, fmt.Errorf("anthropic: new provider: extra body key %q: %w", k, err)
		}
	}
	p := &Provider{
		baseURL: base,
		keys:    append([]string(nil), cfg.APIKeys...),
		model:   cfg.Model,
		timeout: cfg.RequestTimeout,
		extra:   maps.Clone(cfg.ExtraBody),
		headers: maps.Clone(cfg.CustomHeaders),
		budget:  cfg.ThinkingBudget,
		http:    cfg.HTTPClient,
		log:     cfg.Logger,
	}
	if len(p.keys) == 0 {
		p.keys = []string{""} // then no x-api-key is sent
	}
	if p.timeout <= 0 {
		p.timeout = defaultTimeout
	}
	if p.http == nil {
		p.http = &http.Client{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// normaliseBaseURL makes raw the prefix go-anthropic puts before
// "/messages".
func normaliseBaseURL(raw string) (string, error) {
	if raw == "" {
		return defaultBaseURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("base URL %q: want http(s)://host[/path]", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Path == "" {
		u.Path = "/v1"
	}
	return u.String(), nil
}

// Complete streams one message; see picoclaw.Provider.
func (p *Provider) Complete(ctx context.Context, req picoclaw.Request, onDelta func(picoclaw.Delta)) (*picoclaw.Response, error) {
	model := req.Model
	if model == "" {
		model = p.model
	}
	if model == "" {
		return nil, errors.New("anthropic: complete: no model configured")
	}
	mreq := buildRequest(model, req, p.budget)
	switch {
	case p.budget > 0 && mreq.Thinking == nil:
		p.log.Debug("anthropic: thinking off for this request: an unsigned tool-use turn is in progress", "model", model)
	case mreq.Thinking != nil && req.Temperature != nil:
		p.log.Debug("anthropic: temperature not sent: thinking allows none but 1", "model", model)
	}

	tctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	attempts := min(len(p.keys), 2)
	keyIdx := -1
	for a := 0; ; a++ {
		keyIdx = p.nextKey(keyIdx)
		resp, status, err := p.attempt(tctx, p.keys[keyIdx], mreq, onDelta)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("anthropic: complete (model %s): %w", model, ctx.Err())
		}
		if tctx.Err() != nil {
			return nil, fmt.Errorf("anthropic: complete (model %s): %w: no answer within %s: %w",
				model, picoclaw.ErrTemporary, p.timeout, tctx.Err())
		}
		if a+1 < attempts && keyRefused(status) {
			p.log.Warn("anthropic: key refused, trying the next one", "model", model, "status", status, "key_index", keyIdx)
			continue
		}
		return nil, fmt.Errorf("anthropic: complete (model %s): %w", model, err)
	}
}

// nextKey picks the key for the next HTTP request: keys are used in turn,
// and a retry never reuses the key that was just refused (prev, or -1).
func (p *Provider) nextKey(prev int) int {
	n := uint64(len(p.keys))
	i := int((p.next.Add(1) - 1) % n)
	if i == prev {
		i = (prev + 1) % len(p.keys)
	}
	return i
}

// keyRefused reports whether another key might get a different answer.
func keyRefused(status int) bool {
	return status == http.StatusTooManyRequests || status == http.StatusUnauthorized || status == http.StatusForbidden
}

// attempt sends the request with one key and reads the whole stream. The
// returned status is the HTTP status of the answer (0 if none came).
func (p *Provider) attempt(ctx context.Context, key string, mreq goanthropic.MessagesRequest,
	onDelta func(picoclaw.Delta)) (*picoclaw.Response, int, error) {
	rt := &transport{base: p.http.Transport, extra: p.extra, headers: p.headers}
	hc := &http.Client{Transport: rt, CheckRedirect: p.http.CheckRedirect, Jar: p.http.Jar, Timeout: p.http.Timeout}
	client := goanthropic.NewClient(key, goanthropic.WithBaseURL(p.baseURL), goanthropic.WithHTTPClient(hc),
		goanthropic.WithEmptyMessagesLimit(maxNonEventLines))

	start := time.Now()
	acc := &accumulator{onDelta: onDelta}
	sreq := goanthropic.MessagesStreamRequest{
		MessagesRequest:     mreq,
		OnMessageStart:      acc.messageStart,
		OnContentBlockStart: acc.blockStart,
		OnContentBlockDelta: acc.blockDelta,
		OnMessageDelta:      acc.messageDelta,
		OnMessageStop:       acc.messageStop,
	}
	if err := stream(ctx, client, sreq); err != nil {
		status, header := rt.answer()
		return nil, status, classify(err, status, header, key)
	}
	status, _ := rt.answer()
	if err := acc.end(); err != nil {
		return nil, status, err
	}
	resp := acc.response()
	p.log.Debug("anthropic: completion done", "model", mreq.Model, "stop_reason", resp.FinishReason,
		"prompt_tokens", resp.Usage.PromptTokens, "completion_tokens", resp.Usage.CompletionTokens,
		"tool_calls", len(resp.ToolCalls), "signed_reasoning", acc.reasoningSignature() != "",
		"elapsed", time.Since(start))
	return resp, status, nil
}

// stream runs go-anthropic's stream reader. That reader inserts content
// blocks at the index the server names and panics on an index past the
// end; a peer's bad stream must not take the process down.
func stream(ctx context.Context, client *goanthropic.Client, sreq goanthropic.MessagesStreamRequest) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: stream reader failed: %v", errStreamPanic, r)
		}
	}()
	_, err = client.CreateMessagesStream(ctx, sreq)
	return err
}
