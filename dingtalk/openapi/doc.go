// Package openapi is a client of DingTalk's OpenAPI for robots: the app's
// access token (cached, refreshed early, fetched once for many waiters),
// proactive robot sends to single and group chats, and media download and
// upload. It retries QPS limits and temporary failures inside a call,
// hands a long Retry-After to the caller, and keeps the app secret and
// the token out of every error and log line. Interactive cards will join
// it.
package openapi
