// Package anthropic is a picoclaw.Provider for Anthropic's Messages API
// (api.anthropic.com and compatible endpoints such as OpenRouter's), built
// on github.com/liushuangls/go-anthropic/v2.
//
// It always streams. System messages become the top-level system prompt,
// tool results become tool_result blocks of a user message, and
// consecutive messages of one role are merged, since the API wants user
// and assistant turns to alternate. With Config.ThinkingBudget set it
// enables extended thinking: thinking deltas are reported as reasoning,
// and an assistant message carrying Reasoning and ReasoningSignature is
// sent back as a signed thinking block. Failures are mapped to the error
// kinds of package picoclaw so callers can decide on retries with
// errors.Is / errors.As.
//
// Response.FinishReason is Anthropic's stop_reason as sent ("end_turn",
// "tool_use", "max_tokens", …).
package anthropic
