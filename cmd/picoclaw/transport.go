package main

import (
	"net/http"
	"time"
)

// newTransport is the HTTP transport shared by DingTalk and the models.
// Go's default keeps only 2 idle connections per host, so answering many
// chats at once would open and close a TCP (and TLS) connection per
// webhook post or model call; 32 keeps them warm.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 128
	t.MaxIdleConnsPerHost = 32
	t.IdleConnTimeout = 90 * time.Second
	return t
}
