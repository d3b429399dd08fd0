package main

import (
	"fmt"
	"log/slog"
	"time"

	"picoclaw"
	"picoclaw/config"
	"picoclaw/provider/openai"
)

// providerFor builds the provider of one model_list entry.
func providerFor(m config.ModelConfig, log *slog.Logger) (picoclaw.Provider, string, error) {
	switch m.Protocol() {
	case "anthropic":
		return nil, "", fmt.Errorf("model_list: %q: the anthropic protocol is not supported yet; use an OpenAI-compatible endpoint", m.ModelName)
	default:
		p, err := openai.New(openai.Config{
			BaseURL:        m.BaseURL(),
			APIKeys:        m.Keys(),
			Model:          m.ModelID(),
			RequestTimeout: time.Duration(m.RequestTimeout) * time.Second,
			ExtraBody:      m.ExtraBody,
			CustomHeaders:  m.CustomHeaders,
			Logger:         log.With("model", m.ModelName),
		})
		if err != nil {
			return nil, "", fmt.Errorf("model_list: %q: %w", m.ModelName, err)
		}
		return p, m.ModelID(), nil
	}
}
