package anthropic

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	goanthropic "github.com/liushuangls/go-anthropic/v2"

	"picoclaw"
	"picoclaw/provider/internal/httpx"
)

const (
	defaultBaseURL   = "https://api.anthropic.com/v1"
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
	keys    *httpx.Rotation
	model   string
	extra   map[string]any
	headers map[string]string
	budget  int
	http    *http.Client
	log     *slog.Logger
	tools   *httpx.ToolsJSON
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
	if err := httpx.CheckExtra(cfg.ExtraBody); err != nil {
		return nil, fmt.Errorf("anthropic: new provider: %w", err)
	}
	p := &Provider{
		baseURL: base,
		model:   cfg.Model,
		extra:   maps.Clone(cfg.ExtraBody),
		headers: maps.Clone(cfg.CustomHeaders),
		budget:  cfg.ThinkingBudget,
		http:    cfg.HTTPClient,
		log:     cfg.Logger,
		tools:   httpx.NewToolsJSON(encodeTools),
	}
	if p.http == nil {
		p.http = &http.Client{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	// With no keys the rotation hands out "", and the transport then
	// sends no x-api-key.
	p.keys = httpx.NewRotation("anthropic", cfg.APIKeys, cfg.RequestTimeout, p.log)
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
	var fields []httpx.Field
	if len(req.Tools) > 0 {
		raw, err := p.tools.Get(req.Tools)
		if err != nil {
			return nil, fmt.Errorf("anthropic: complete (model %s): %w", model, err)
		}
		fields = []httpx.Field{{Key: "tools", Value: raw}}
	}
	switch {
	case p.budget > 0 && mreq.Thinking == nil:
		p.log.Debug("anthropic: thinking off for this request: an unsigned tool-use turn is in progress", "model", model)
	case mreq.Thinking != nil && req.Temperature != nil:
		p.log.Debug("anthropic: temperature not sent: thinking allows none but 1", "model", model)
	}

	resp, err := httpx.Do(ctx, p.keys, model, func(ctx context.Context, key string) (*picoclaw.Response, int, error) {
		return p.attempt(ctx, key, mreq, fields, onDelta)
	})
	if err != nil {
		return nil, fmt.Errorf("anthropic: complete (model %s): %w", model, err)
	}
	return resp, nil
}

// attempt sends the request with one key and reads the whole stream. The
// returned status is the HTTP status of the answer (0 if none came).
func (p *Provider) attempt(ctx context.Context, key string, mreq goanthropic.MessagesRequest, fields []httpx.Field,
	onDelta func(picoclaw.Delta)) (*picoclaw.Response, int, error) {
	// go-anthropic v2.17.0 serialises a fixed MessagesRequest and takes
	// only an *http.Client, so vendor body keys and extra headers are
	// added by the transport, which also keeps the answer's status and
	// header that go-anthropic drops from its errors. The tools go the
	// same way, encoded once per change of the list.
	rt := &httpx.Transport{Append: fields, Extra: p.extra, Headers: p.headers, OmitEmpty: []string{"X-Api-Key"}}
	client := goanthropic.NewClient(key, goanthropic.WithBaseURL(p.baseURL), goanthropic.WithHTTPClient(rt.Client(p.http)),
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
		status, header := rt.Answer()
		return nil, status, classify(err, status, header, key)
	}
	status, _ := rt.Answer()
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
