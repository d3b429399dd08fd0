package tools

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"picoclaw/internal/netguard"
)

// guardedDialer resolves a host itself, refuses it when any of its
// addresses is not public, and dials an address it checked (through
// netguard's dialer, which checks the socket's address once more).
type guardedDialer struct {
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	dial   func(ctx context.Context, network, address string) (net.Conn, error)
}

// DialContext is an http.Transport's DialContext.
func (g guardedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("refusing to connect to %q: %w", address, err)
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else if addrs, err = g.lookup(ctx, host); err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	// One private answer is enough to refuse: a name that mixes them is
	// misconfigured or an attack (DNS rebinding).
	for _, ip := range addrs {
		if !netguard.IsPublic(ip) {
			return nil, fmt.Errorf("refusing %s, which resolves to %s: %w (loopback, private, link-local and reserved addresses are blocked)", host, ip.Unmap(), netguard.ErrPrivateAddress)
		}
	}
	var errs []error
	for _, ip := range addrs {
		c, err := g.dial(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}
