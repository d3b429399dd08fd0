// Package netguard keeps URLs fetched on a model's behalf off loopback,
// private, link-local and other non-public addresses (cloud metadata at
// 169.254.169.254, the local network, the gateway's own health port). The
// check runs twice: on the URL's host before anything is resolved (so an
// IP written in decimal, octal or hex is caught without a DNS query), and
// on every address actually dialed, redirects and DNS answers included.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrPrivateAddress is wrapped by every refusal.
var ErrPrivateAddress = errors.New("address is not public")

// nonPublic lists special-purpose ranges beyond what netip's methods
// classify (RFC 6890 and friends).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT; Alibaba Cloud's metadata is 100.100.100.200
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("2001:db8::/32"),
}

// IsPublic reports whether ip is a globally routable unicast address.
func IsPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// Control is a net.Dialer Control hook: it sees the resolved IP of every
// connection just before it is made, and refuses a non-public one.
func Control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("refusing to connect to %q: %w", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("refusing to connect to %q: %w", address, err)
	}
	if !IsPublic(ip) {
		return fmt.Errorf("refusing to connect to %s: %w (loopback, private, link-local and reserved addresses are blocked)", ip, ErrPrivateAddress)
	}
	return nil
}

// CheckURL refuses a URL whose host is a non-public IP in any spelling:
// dotted, IPv6 (mapped forms included), or the decimal, octal and hex
// forms that inet_aton-style resolvers accept (http://2852039166/ is
// 169.254.169.254). Host names pass: Control checks what they resolve to.
func CheckURL(u *url.URL) error {
	host := strings.TrimSuffix(u.Hostname(), ".")
	ip, err := netip.ParseAddr(host)
	if err != nil {
		var ok bool
		if ip, ok = parseLooseIPv4(host); !ok {
			return nil
		}
	}
	if !IsPublic(ip) {
		return fmt.Errorf("refusing %s: %w", u.Hostname(), ErrPrivateAddress)
	}
	return nil
}

// parseLooseIPv4 reads the inet_aton forms: one to four parts, each
// decimal, octal (leading 0) or hex (0x), the last filling the remaining
// bytes.
func parseLooseIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(s, ".")
	if s == "" || len(parts) > 4 {
		return netip.Addr{}, false
	}
	var vals []uint64
	for _, p := range parts {
		if p == "" {
			return netip.Addr{}, false
		}
		v, err := strconv.ParseUint(p, 0, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals = append(vals, v)
	}
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 0xff {
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

// Transport returns a copy of base (http.DefaultTransport's when nil)
// that dials only public addresses and uses no proxy, which would hide
// the real destination from the check. base must be an *http.Transport,
// whose dialer can be guarded.
func Transport(base http.RoundTripper) (*http.Transport, error) {
	var tr *http.Transport
	switch b := base.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = b.Clone()
	default:
		return nil, fmt.Errorf("netguard: transport is %T; an *http.Transport is needed to refuse private addresses", base)
	}
	tr.Proxy = nil
	d := &net.Dialer{Timeout: 10 * time.Second, Control: Control}
	tr.DialContext = d.DialContext
	tr.DialTLSContext = nil
	return tr, nil
}
