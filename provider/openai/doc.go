// Package openai is a picoclaw.Provider for OpenAI-compatible Chat
// Completions APIs: OpenAI itself, DeepSeek, Qwen (DashScope), Moonshot,
// Zhipu, OpenRouter, Ollama and vLLM.
//
// It always streams, accumulating content, reasoning_content (DeepSeek,
// Qwen, vLLM, Ollama) or reasoning (OpenRouter), tool calls keyed by index,
// the finish reason and usage. HTTP and stream failures are mapped to the
// error kinds of package picoclaw so callers can decide on retries with
// errors.Is / errors.As.
package openai
