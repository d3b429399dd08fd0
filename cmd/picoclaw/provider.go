package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"picoclaw"
	"picoclaw/config"
	"picoclaw/provider/anthropic"
	"picoclaw/provider/openai"
)

// providerFor builds the provider of one model_list entry.
func providerFor(m config.ModelConfig, hc *http.Client, log *slog.Logger) (picoclaw.Provider, string, error) {
	timeout := time.Duration(m.RequestTimeout) * time.Second
	log = log.With("model", m.ModelName)
	var (
		p   picoclaw.Provider
		err error
	)
	switch m.Protocol() {
	case "anthropic":
		p, err = anthropic.New(anthropic.Config{
			BaseURL: m.BaseURL(), APIKeys: m.Keys(), Model: m.ModelID(), RequestTimeout: timeout,
			ExtraBody: m.ExtraBody, CustomHeaders: m.CustomHeaders, HTTPClient: hc, Logger: log,
		})
	default:
		p, err = openai.New(openai.Config{
			BaseURL: m.BaseURL(), APIKeys: m.Keys(), Model: m.ModelID(), RequestTimeout: timeout,
			ExtraBody: m.ExtraBody, CustomHeaders: m.CustomHeaders, HTTPClient: hc, Logger: log,
		})
	}
	if err != nil {
		return nil, "", fmt.Errorf("model_list: %q: %w", m.ModelName, err)
	}
	return p, m.ModelID(), nil
}
