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
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"picoclaw"
	"picoclaw/provider/internal/httpx"
)

const defaultBaseURL = "https://api.openai.com/v1"

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
	// HTTPClient sends the requests; nil → a new http.Client. Its
	// Transport is wrapped, not replaced.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// Provider is a picoclaw.Provider for an OpenAI-compatible API. It is safe
// for concurrent use.
type Provider struct {
	baseURL string
	keys    *httpx.Rotation
	model   string
	extra   map[string]any
	headers map[string]string
	http    *http.Client
	log     *slog.Logger
	tools   *httpx.ToolsJSON
}

var _ picoclaw.Provider = (*Provider)(nil)

// New checks cfg and returns a Provider.
func New(cfg Config) (*Provider, error) {
	if err := httpx.CheckExtra(cfg.ExtraBody); err != nil {
		return nil, fmt.Errorf("openai: new provider: %w", err)
	}
	p := &Provider{
		baseURL: cfg.BaseURL,
		model:   cfg.Model,
		extra:   maps.Clone(cfg.ExtraBody),
		headers: maps.Clone(cfg.CustomHeaders),
		http:    cfg.HTTPClient,
		log:     cfg.Logger,
		tools:   httpx.NewToolsJSON(encodeTools),
	}
	if p.baseURL == "" {
		p.baseURL = defaultBaseURL
	}
	if p.http == nil {
		p.http = &http.Client{}
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	// With no keys the rotation hands out "", and go-openai then sends no
	// Authorization.
	p.keys = httpx.NewRotation("openai", cfg.APIKeys, cfg.RequestTimeout, p.log)
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
	creq := buildRequest(model, req)
	fields, err := p.fields(req)
	if err != nil {
		return nil, fmt.Errorf("openai: complete (model %s): %w", model, err)
	}
	extra := p.extra
	if _, ok := extra["temperature"]; ok && req.Temperature != nil {
		// The request's temperature wins over a configured one.
		extra = maps.Clone(extra)
		extra["temperature"] = *req.Temperature
	}

	resp, err := httpx.Do(ctx, p.keys, model, func(ctx context.Context, key string) (*picoclaw.Response, int, error) {
		return p.attempt(ctx, key, creq, fields, extra, onDelta)
	})
	if err != nil {
		return nil, fmt.Errorf("openai: complete (model %s): %w", model, err)
	}
	return resp, nil
}

// attempt sends the request with one key and reads the whole stream. The
// returned status is the HTTP status of the answer (0 if none came).
func (p *Provider) attempt(ctx context.Context, key string, creq goopenai.ChatCompletionRequest,
	fields []httpx.Field, extra map[string]any, onDelta func(picoclaw.Delta)) (*picoclaw.Response, int, error) {
	// go-openai v1.43.0 serialises a fixed ChatCompletionRequest struct:
	// it has no hook for vendor fields (enable_thinking, top_k, …) nor for
	// extra headers, and its Temperature is a float32 with omitempty, so 0
	// cannot be sent. The transport adds them, and keeps the response
	// header so that a 429's Retry-After survives go-openai's error
	// handling, which drops headers. The messages and tools go the same
	// way (see fields), so go-openai encodes only a few small keys.
	rt := &httpx.Transport{Set: fields, Extra: extra, Headers: p.headers}
	cc := goopenai.DefaultConfig(key)
	cc.BaseURL = p.baseURL
	cc.HTTPClient = rt.Client(p.http)
	client := goopenai.NewClientWithConfig(cc)

	start := time.Now()
	stream, err := client.CreateChatCompletionStream(ctx, creq)
	if err != nil {
		status, header := rt.Answer()
		return nil, status, classify(err, header, key)
	}
	defer stream.Close()
	// The answer has begun: its status and header are final.
	status, header := rt.Answer()

	acc := accumulator{onDelta: onDelta}
	chunks := 0
	for {
		raw, err := stream.RecvRaw()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, status, classify(err, header, key)
		}
		var c chunk
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, status, fmt.Errorf("%w: decode stream chunk %d: %w", picoclaw.ErrBadResponse, chunks+1, err)
		}
		chunks++
		acc.add(&c)
	}
	if err := streamEnd(chunks, acc.finish); err != nil {
		return nil, status, err
	}
	resp := acc.response()
	p.log.Debug("openai: completion done", "model", creq.Model, "finish", resp.FinishReason,
		"prompt_tokens", resp.Usage.PromptTokens, "completion_tokens", resp.Usage.CompletionTokens,
		"tool_calls", len(resp.ToolCalls), "elapsed", time.Since(start))
	return resp, status, nil
}

// fields returns the body keys the transport adds to go-openai's
// encoding: the messages (see message), the tool list (cached JSON) and
// the temperature, which
// go-openai's float32 omitempty field would drop at 0 and its
// reasoning-model validator rejects at values the server may well accept.
// A configured extra "temperature" is merged later and wins unless the
// request has its own (see Complete).
func (p *Provider) fields(req picoclaw.Request) ([]httpx.Field, error) {
	msgs, err := encodeMessages(req.Messages)
	if err != nil {
		return nil, fmt.Errorf("encode messages: %w", err)
	}
	fields := []httpx.Field{{Key: "messages", Value: msgs}}
	if len(req.Tools) > 0 {
		raw, err := p.tools.Get(req.Tools)
		if err != nil {
			return nil, err
		}
		fields = append(fields, httpx.Field{Key: "tools", Value: raw})
	}
	if req.Temperature != nil {
		t, err := json.Marshal(*req.Temperature)
		if err != nil {
			return nil, fmt.Errorf("encode temperature: %w", err)
		}
		fields = append(fields, httpx.Field{Key: "temperature", Value: t})
	}
	return fields, nil
}
