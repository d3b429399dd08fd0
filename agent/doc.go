// Package agent turns accepted inbound messages into answers: the
// Dispatcher runs turns (ordered within a chat, parallel across chats,
// bounded), and a turn builds the system prompt from the workspace, adds
// the session history, asks the Provider, records the exchange and sends
// the answer and, separately, the model's reasoning.
package agent
