package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"picoclaw/internal/tlsroots"
)

// testDialEnv names the dial override that only picoclaw-bench and tests
// set, never a user: a comma-separated list of host:port=127.0.0.1:port.
// It lets a gateway reach a fake DingTalk under DingTalk's real host
// names (https://api.dingtalk.com…) without touching /etc/hosts or DNS.
// Targets must be loopback addresses, and certificates are still checked
// against the host name asked for, so it can only reach a local server
// whose certificate the process already trusts (SSL_CERT_FILE).
const testDialEnv = "PICOCLAW_TEST_ONLY_DIAL_OVERRIDE"

// newTransport is the HTTP transport shared by DingTalk and the models.
// Go's default keeps only 2 idle connections per host, so answering many
// chats at once would open and close a TCP (and TLS) connection per
// webhook post or model call; 32 keeps them warm. Servers are verified
// against the system's roots indexed lazily (tlsroots: parsing them all
// cost more time and memory than the rest of connecting), and TLS
// sessions are resumed when a connection is made again.
//
// It speaks HTTP/1.1 only. DingTalk's calls are small JSON posts (a
// reply and the thinking reaction on and off: three per answer), and Go's
// HTTP/2 client costs more CPU for each of them than a kept-alive HTTP/1.1
// connection: HEADERS and DATA go out as separate writes, flow-control
// frames come back, and a request crosses two goroutines. Measured with
// picoclaw-bench's throughput phase (2,000 answers, 5 alternating pairs):
// 0.1–0.5 ms less gateway CPU per answer and 0.1–0.4 ms less in the fake
// DingTalk. MaxIdleConnsPerHost keeps enough connections warm for the
// requests in flight at once. The models keep HTTP/2 (modelTransport).
func newTransport(getenv func(string) string) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	t.MaxIdleConns = 128
	t.MaxIdleConnsPerHost = 32
	t.IdleConnTimeout = 90 * time.Second
	if roots := tlsroots.System(getenv); roots != nil {
		t.TLSClientConfig = roots.ClientConfig()
	}
	if spec := getenv(testDialEnv); spec != "" {
		t.DialContext = overrideDial(spec, &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second})
	}
	return t
}

// modelWriteBuffer holds a whole model request (prompt, history and tool
// schemas: 10–30 KB) in a connection's write buffer.
const modelWriteBuffer = 32 << 10

// modelTransport is rt for the models: a copy of the shared transport
// (the models' hosts are not DingTalk's, so no connection is shared
// anyway) whose HTTP/1.1 connections buffer a whole request. With Go's
// 4 KB default, net/http writes a model request in two syscalls and
// allocates a copy buffer for each one. Connections to the models are
// made on the first turn, so idle memory does not change. Unlike
// DingTalk's, they may use HTTP/2 when the host offers it: a model call is
// one long streamed answer per turn, not three small posts.
func modelTransport(rt http.RoundTripper) http.RoundTripper {
	t, ok := rt.(*http.Transport)
	if !ok {
		return rt
	}
	t = t.Clone()
	t.Protocols = nil // HTTP/1.1, and HTTP/2 where offered (ForceAttemptHTTP2)
	t.WriteBufferSize = modelWriteBuffer
	return t
}

// overrideDial returns a DialContext that sends the host:ports named in
// spec to their loopback targets and everything else on its way. A
// malformed spec fails every dial with an error naming the variable, so a
// mistake shows in the first connect's log line.
func overrideDial(spec string, d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	to, err := parseDialOverride(spec)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err != nil {
			return nil, err
		}
		if target, ok := to[strings.ToLower(addr)]; ok {
			addr = target
		}
		return d.DialContext(ctx, network, addr)
	}
}

// parseDialOverride reads host:port=127.0.0.1:port pairs.
func parseDialOverride(spec string) (map[string]string, error) {
	to := map[string]string{}
	for _, pair := range strings.Split(spec, ",") {
		from, target, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if _, _, err := net.SplitHostPort(from); !ok || err != nil {
			return nil, fmt.Errorf("%s: expected host:port=127.0.0.1:port pairs separated by commas, got %q", testDialEnv, pair)
		}
		ap, err := netip.ParseAddrPort(target)
		if err != nil || !ap.Addr().IsLoopback() {
			return nil, fmt.Errorf("%s: target of %s must be a loopback ip:port, got %q", testDialEnv, from, target)
		}
		to[strings.ToLower(from)] = target
	}
	return to, nil
}
