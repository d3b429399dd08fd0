package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"sync/atomic"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"picoclaw"
)

const (
	defaultBaseURL = "https://api.openai.com/v1"
	defaultTimeout = 120 * time.Second
)

// Config configures a Provider.
type Config struct {
	// BaseURL is the API root including the version, e.g.
	// https://api.openai.com/v1 (the default) or http://127.0.0.1:11434/v1.
	BaseURL string
	// APIKeys are used in turn, one request each. A request refused with
	// 429, 401 or 403 is tried once more with the next key. Empty for
	// servers without authentication.
	APIKeys []string
	// Model is the model id sent on the wire, e.g. "gpt-4o-mini";
	// Request.Model overrides it.
	Model string
	// RequestTimeout bounds a whole request, streaming included; 0 → 120s.
	RequestTimeout time.Duration
	// ExtraBody keys are merged into the JSON request body (vendor options
	// such as {"enable_thinking": false}); they win over the standard ones.
	ExtraBody map[string]any
	// CustomHeaders are set on every request (e.g. OpenRouter's
	// HTTP-Referer and X-Title).
	CustomHeaders map[string]string
	// HTTPClient sends the requests; nil → a new http.Client.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Provider is a picoclaw.Provider for an OpenAI-compatible API. It is safe
// for concurrent use.
type Provider struct {
	baseURL string
	keys    []string
	model   string
	timeout time.Duration
	extra   map[string]any
	headers map[string]string
	http    *http.Client
	log     *slog.Logger
	next    atomic.Uint64 // key rotation
}

var _ picoclaw.Provider = (*Provider)(nil)

// New checks cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	for k, v := range cfg.ExtraBody {
		if _, err := json.Marshal(v); err != nil {
			return nil, fmt.Errorf("openai: new provider: extra body key %q: %w", k, err)
		}
	}
	p := &Provider{
		baseURL: cfg.BaseURL,
		keys:    append([]string(nil), cfg.APIKeys...),
		model:   cfg.Model,
		timeout: cfg.RequestTimeout,
		extra:   maps.Clone(cfg.ExtraBody),
		headers: maps.Clone(cfg.CustomHeaders),
		http:    cfg.HTTPClient,
		log:     cfg.Logger,
	}
	if p.baseURL == "" {
		p.baseURL = defaultBaseURL
	}
	if len(p.keys) == 0 {
		p.keys = []string{""} // go-openai then sends no Authorization
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

// Complete streams one chat completion; see picoclaw.Provider.
func (p *Provider) Complete(ctx context.Context, req picoclaw.Request, onDelta func(picoclaw.Delta)) (*picoclaw.Response, error) {
	model := req.Model
	if model == "" {
		model = p.model
	}
	if model == "" {
		return nil, errors.New("openai: complete: no model configured")
	}
	creq, reqExtra := buildRequest(model, req)
	extra := maps.Clone(p.extra)
	if len(reqExtra) > 0 {
		if extra == nil {
			extra = make(map[string]any, len(reqExtra))
		}
		maps.Copy(extra, reqExtra)
	}

	tctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()

	attempts := min(len(p.keys), 2)
	keyIdx := -1
	for a := 0; ; a++ {
		keyIdx = p.nextKey(keyIdx)
		resp, status, err := p.attempt(tctx, p.keys[keyIdx], creq, extra, onDelta)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("openai: complete (model %s): %w", model, ctx.Err())
		}
		if tctx.Err() != nil {
			return nil, fmt.Errorf("openai: complete (model %s): %w: no answer within %s: %w",
				model, picoclaw.ErrTemporary, p.timeout, tctx.Err())
		}
		if a+1 < attempts && keyRefused(status) {
			p.log.Warn("openai: key refused, trying the next one", "model", model, "status", status, "key_index", keyIdx)
			continue
		}
		return nil, fmt.Errorf("openai: complete (model %s): %w", model, err)
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
func (p *Provider) attempt(ctx context.Context, key string, creq goopenai.ChatCompletionRequest,
	extra map[string]any, onDelta func(picoclaw.Delta)) (*picoclaw.Response, int, error) {
	d := &doer{client: p.http, extra: extra, headers: p.headers}
	cc := goopenai.DefaultConfig(key)
	cc.BaseURL = p.baseURL
	cc.HTTPClient = d
	client := goopenai.NewClientWithConfig(cc)

	start := time.Now()
	stream, err := client.CreateChatCompletionStream(ctx, creq)
	if err != nil {
		return nil, d.status, classify(err, d.header, key)
	}
	defer stream.Close()

	acc := accumulator{onDelta: onDelta}
	chunks := 0
	for {
		raw, err := stream.RecvRaw()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, d.status, classify(err, d.header, key)
		}
		var c chunk
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, d.status, fmt.Errorf("%w: decode stream chunk %d: %w", picoclaw.ErrBadResponse, chunks+1, err)
		}
		chunks++
		acc.add(&c)
	}
	if err := streamEnd(chunks, acc.finish); err != nil {
		return nil, d.status, err
	}
	resp := acc.response()
	p.log.Debug("openai: completion done", "model", creq.Model, "finish", resp.FinishReason,
		"prompt_tokens", resp.Usage.PromptTokens, "completion_tokens", resp.Usage.CompletionTokens,
		"tool_calls", len(resp.ToolCalls), "elapsed", time.Since(start))
	return resp, d.status, nil
}
