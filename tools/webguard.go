package tools

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// guardedDialer resolves a host itself, refuses it when any of its
// addresses is not public, and dials the address it checked.
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
	if err := checkHost(host); err != nil {
		return nil, err
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
	// either misconfigured or an attack (DNS rebinding).
	for _, ip := range addrs {
		if !isPublic(ip) {
			return nil, fmt.Errorf("refusing %s, which resolves to %s: %w (loopback, private, link-local and reserved addresses are blocked)", host, ip.Unmap(), ErrPrivateAddress)
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

// checkHost refuses a literal address that is not public, and a numeric
// host in any form but the standard one: 2852039166, 0251.0376.0251.0376
// and 0xa9fea9fe are all 169.254.169.254 to some resolvers.
func checkHost(host string) error {
	host = strings.Trim(host, "[]")
	if ip, err := netip.ParseAddr(host); err == nil {
		if !isPublic(ip) {
			return fmt.Errorf("refusing %s: %w", ip.Unmap(), ErrPrivateAddress)
		}
		return nil
	}
	if ip, ok := looseIPv4(host); ok {
		if !isPublic(ip) {
			return fmt.Errorf("refusing %q, which is %s: %w", host, ip, ErrPrivateAddress)
		}
		return fmt.Errorf("refusing %q: write the address as %s", host, ip)
	}
	return nil
}

// looseIPv4 parses the forms inet_aton(3) accepts besides a.b.c.d:
// decimal, octal (leading 0) and hex (0x) parts, one to four of them.
// ok is false for a host name.
func looseIPv4(host string) (netip.Addr, bool) {
	parts := strings.Split(host, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		base, digits := 10, p
		switch {
		case len(p) > 1 && (p[:2] == "0x" || p[:2] == "0X"):
			base, digits = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		if digits == "" && base == 16 {
			digits = "0"
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil || p == "" {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	// The last part fills the remaining bytes.
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*i)
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}), true
}
