package dingtalktest

import (
	"context"
	"crypto/tls"
	"net"
	"sync/atomic"
)

// gateListener hands out gateConns, so that the fake can make a socket go
// silent (zombie) or cut it at the TCP level after websocket hijacking,
// which httptest's own CloseClientConnections no longer tracks.
type gateListener struct{ net.Listener }

func (l *gateListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &gateConn{Conn: c}, nil
}

// gateConn is a net.Conn that, while zombie, swallows everything in both
// directions: the peer sees an open TCP connection that never answers.
type gateConn struct {
	net.Conn
	zombie atomic.Bool
}

func (c *gateConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if err != nil || !c.zombie.Load() {
			return n, err
		}
		// Zombie: drop what arrived (pings included) and keep waiting.
	}
}

func (c *gateConn) Write(p []byte) (int, error) {
	if c.zombie.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

type netConnKey struct{}

// withNetConn is the http.Server ConnContext hook that makes the accepted
// connection reachable from the websocket handler.
func withNetConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, netConnKey{}, c)
}

func netConnFrom(ctx context.Context) *gateConn {
	c := ctx.Value(netConnKey{})
	if t, ok := c.(*tls.Conn); ok { // under StartTLS the gate is below TLS
		c = t.NetConn()
	}
	g, _ := c.(*gateConn)
	return g
}
