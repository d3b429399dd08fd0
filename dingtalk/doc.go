// Package dingtalk is picoclaw's DingTalk channel: it parses bot
// messages, applies the allow list and group trigger, resolves media,
// remembers each chat's route (session webhook, staff id), splits long
// answers, replies through session webhooks, and ties them together in
// the Channel adapter. The wire clients live below it: dingtalk/stream
// (Stream Mode) and dingtalk/openapi (token, robot sends, media).
package dingtalk
