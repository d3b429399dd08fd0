// Package sim is a DingTalk look-alike in the browser for trying the
// gateway without a DingTalk app: it drives a dingtalktest.Server (the
// project's fake DingTalk) as simulated users would, and shows what the
// gateway answers through it.
//
// A page served by Handler (assets embedded, no CDN) lists private chats
// of simulated users and group chats; what a user types is pushed down
// the fake's Stream socket as a real robot message (pictures and files
// through the fake's media endpoints, so the gateway downloads them as it
// would from DingTalk). Watch reads back what the gateway sent (webhook
// replies, OpenAPI messages, AI cards filling in, the reasoning chat) and
// the protocol around it, and streams all of it to the page over
// server-sent events, with the fault switches of the fake behind buttons
// and a side log to watch the recovery.
//
// EchoServer is an OpenAI-compatible endpoint that answers with what it
// is sent: a model for the sim that is clearly not an AI.
package sim
