// Package providertest helps test picoclaw.Provider implementations: a
// scripted fake OpenAI-compatible server (NewOpenAI) whose server-sent
// events follow recorded OpenAI and DeepSeek streams, and a conformance
// suite (RunConformance) that checks a provider against any fake through a
// protocol-neutral Harness, in the manner of testing/slogtest.
package providertest
