// Package providertest helps test picoclaw.Provider implementations: a
// scripted fake OpenAI-compatible server (NewOpenAI) whose server-sent
// events follow recorded OpenAI and DeepSeek streams, a fake Anthropic
// Messages server (NewAnthropic), and a conformance suite (RunConformance)
// that checks a provider against any fake through a protocol-neutral
// Harness, in the manner of testing/slogtest. RunReplays, RunErrorCases,
// RunKeyRotation, RunRequestTimeout and RunConnectionRefused are checks a
// provider package runs with its own configuration.
package providertest
