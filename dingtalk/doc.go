// Package dingtalk connects picoclaw to DingTalk: the Stream Mode
// websocket (open, frames, acks, ping, disconnect, reconnect), bot message
// parsing and policy, replies through session webhooks, and the Channel
// adapter that ties them together. It speaks the protocol itself on
// github.com/coder/websocket; the official SDK is used only in tests.
package dingtalk
