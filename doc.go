// Package picoclaw holds the vocabulary shared by every part of the
// assistant: inbound and outbound messages, chat identities, session keys,
// LLM messages, and the small interfaces (Channel, Provider, SessionStore,
// Tool) that the concrete packages implement. It does no I/O.
//
// Imports point inward: every package may import this one, and only
// cmd/picoclaw knows the concrete implementations.
package picoclaw
