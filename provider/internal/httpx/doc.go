// Package httpx is the HTTP plumbing the provider packages share, written
// once so that openai and anthropic cannot drift apart: API-key rotation
// with one retry on a refused key (Rotation), a RoundTripper that adds
// custom headers and vendor body keys and remembers the answer's status
// (Transport) and adds the tool list encoded once per change (ToolsJSON),
// and the handling of Retry-After (RetryAfter). Server text quoted in
// errors goes through picoclaw/internal/text (Redact, Snippet).
package httpx
