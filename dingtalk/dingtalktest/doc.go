// Package dingtalktest is a fake DingTalk for tests, in the style of
// net/http/httptest: NewServer starts the Stream Mode gateway
// (POST /v1.0/gateway/connections/open and the /connect websocket) and the
// session-webhook endpoint (POST /robot/sendBySession) on 127.0.0.1, and
// the robot OpenAPI on the same host: the access token, batchSend and
// groupMessages/send, messageFiles/download (with the file GET it points
// to) and the legacy media/upload.
//
// Tests push bot messages, pings and disconnects down the socket, inject
// faults (failed opens, dropped or silent "zombie" sockets, webhook error
// codes, webhooks answering 500, a redirect, an HTML page or nothing,
// expired sessions, OpenAPI throttling, outages of any OpenAPI path until
// RecoverOpenAPI, and revoked tokens) and read back everything the client
// sent: open requests, acks, webhook posts, replies, OpenAPI calls and
// messages, and uploads. DeliveredCount tells how often a text reached a
// chat by either route, for "answered exactly once". Wire shapes follow the fixtures in testdata/
// and are checked against the official Go Stream SDK in sdk_test.go.
//
// AddApp registers more apps beside ClientID/ClientSecret, as one
// DingTalk serves many robots: each has its own credentials, stream
// sockets, tokens and robotCode; BotMessage.App pushes to a chosen app and
// Reply.App tells which app's session webhook a reply went through.
//
// Several sockets of one app behave as DingTalk's do when asked
// (multiconn.go; all off by default, when a push goes down the most recent
// live socket, once): SetPushPolicy(PushRandom) sends each push down a
// random live socket (SetSeed makes it reproducible), SetRedelivery pushes
// an unacked bot message again (new messageId, same msgId) down a random
// live socket until acked or SetMaxRedeliveries, SetDuplicateRate injects
// extra copies, and Deliveries records each push. ReplyCounts tells how
// many replies answered each msgId (exact for session webhooks, by chat
// and time order for OpenAPI sends), for "exactly one reply per msgId"
// across several gateways.
//
// StartTLS (after NewUnstartedServer) serves the same over TLS under
// DingTalk's own host names with a CA made for the server, for clients
// that keep the real https://api.dingtalk.com URLs; Client returns an HTTP
// client that trusts it and dials it for those names.
//
// Everything is safe for concurrent use; Close stops every goroutine the
// server started.
package dingtalktest
