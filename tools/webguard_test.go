package tools

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeInternet serves "public.example" (a public address that the test
// dials on a local server, which redirects as asked) and an internal
// service on loopback holding a secret. Names resolve through a fake
// resolver: no real DNS.
type fakeInternet struct {
	public, internal *httptest.Server
	internalHits     atomic.Int32
	tool             *WebFetchTool
}

const publicIP = "93.184.216.34"

func newFakeInternet(t *testing.T) *fakeInternet {
	t.Helper()
	f := &fakeInternet{}
	f.internal = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.internalHits.Add(1)
		fmt.Fprint(w, "internal-secret-3b7")
	}))
	t.Cleanup(f.internal.Close)
	f.public = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "public page")
	}))
	t.Cleanup(f.public.Close)
	names := map[string][]netip.Addr{
		"public.example":   {netip.MustParseAddr(publicIP)},
		"localtest.me":     {netip.MustParseAddr("127.0.0.1")},
		"rebind.example":   {netip.MustParseAddr(publicIP), netip.MustParseAddr("10.0.0.5")},
		"metadata.example": {netip.MustParseAddr("::ffff:169.254.169.254")},
	}
	opts := WebOptions{
		LookupIP: func(_ context.Context, host string) ([]netip.Addr, error) {
			if a, ok := names[host]; ok {
				return a, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		},
		dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			host, _, _ := net.SplitHostPort(address)
			if host != publicIP {
				// Only reached if the guard let a private address through.
				var d net.Dialer
				return d.DialContext(ctx, network, address)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, f.public.Listener.Addr().String())
		},
	}
	tool, err := NewWebFetchTool(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.tool = tool
	return f
}

// TestSecurityWebFetchAddresses: every spelling of a metadata or loopback
// address, names resolving to them, and redirects to them are refused,
// and the internal service is never reached.
func TestSecurityWebFetchAddresses(t *testing.T) {
	f := newFakeInternet(t)
	port := f.internal.URL[strings.LastIndexByte(f.internal.URL, ':'):]
	if got, err := fetch(t, f.tool, map[string]any{"url": "http://public.example/"}); err != nil || !strings.Contains(got, "public page") {
		t.Fatalf("public page = %q, %v; the fake internet does not work", got, err)
	}
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://2852039166/latest/meta-data/",                        // decimal
		"http://0251.0376.0251.0376/latest/meta-data/",               // octal
		"http://0xa9fea9fe/latest/meta-data/",                        // hex
		"http://0xa9.0xfe.0xa9.0xfe/",                                // hex parts
		"http://169.254.43518/",                                      // a.b.c form
		"http://[::ffff:169.254.169.254]/",                           // IPv4-mapped IPv6
		"http://[::ffff:a9fe:a9fe]/",                                 // the same, in hex
		"http://[64:ff9b::a9fe:a9fe]/",                               // NAT64
		"http://100.100.100.200/latest/meta-data/",                   // Alibaba Cloud metadata
		"http://[fd00:ec2::254]/",                                    // AWS IPv6 metadata
		"http://127.0.0.1" + port + "/",                              // loopback literal
		"http://2130706433" + port + "/",                             // loopback in decimal
		"http://0x7f.1" + port + "/",                                 // loopback, a.b form
		"http://[::1]" + port + "/",                                  // IPv6 loopback
		"http://0.0.0.0" + port + "/",                                // "this host"
		"http://localtest.me" + port + "/",                           // a name resolving to loopback
		"http://metadata.example/",                                   // a name resolving to mapped metadata
		"http://rebind.example/",                                     // one public, one private answer
		"http://public.example/?to=http://127.0.0.1" + port + "/",    // redirect to loopback
		"http://public.example/?to=http://2852039166/",               // redirect to metadata in decimal
		"http://public.example/?to=http://localtest.me" + port + "/", // redirect to a loopback name
	} {
		t.Run(u, func(t *testing.T) {
			got, err := fetch(t, f.tool, map[string]any{"url": u})
			if err == nil {
				t.Fatalf("fetched %q", got)
			}
			if !errors.Is(err, ErrPrivateAddress) {
				t.Fatalf("err = %v, want ErrPrivateAddress", err)
			}
			if strings.Contains(got+err.Error(), "internal-secret-3b7") {
				t.Fatalf("leaked: %q, %v", got, err)
			}
		})
	}
	if n := f.internalHits.Load(); n != 0 {
		t.Fatalf("the internal service got %d requests", n)
	}
}
