package tlsroots

import (
	"context"
	"net"
)

// netDialer sends every dial to addr, so tests can use any host name.
type netDialer struct{ addr string }

func (d *netDialer) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	return (&net.Dialer{}).DialContext(ctx, network, d.addr)
}
