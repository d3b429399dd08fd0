// Package stream is a DingTalk Stream Mode client, reusable on its own
// the way slack-go's socketmode is for Slack: it opens a connection
// (POST /v1.0/gateway/connections/open), reads frames from the websocket,
// hands CALLBACK and EVENT frames to a FrameHandler and acks them with
// its answer, echoes pings, follows a SYSTEM disconnect with a warm
// reconnect (the old socket drains while the new one reads), closes a
// socket that stays silent past its idle and ping deadlines (the
// dead-man), and reconnects with backoff after any failure.
//
// It speaks the protocol itself on github.com/coder/websocket and knows
// nothing of bot messages: parsing them is the caller's business.
package stream
