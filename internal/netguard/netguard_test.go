package netguard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync/atomic"
	"testing"
)

func TestControl(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.216.34:443", true},
		{"[2606:2800:220:1:248:1893:25c8:1946]:443", true},
		{"127.0.0.1:80", false},
		{"10.1.2.3:80", false},
		{"172.16.0.1:80", false},
		{"192.168.1.1:80", false},
		{"169.254.169.254:80", false},
		{"100.100.100.200:80", false}, // Alibaba Cloud metadata, CGNAT range
		{"0.0.0.0:80", false},
		{"[::1]:80", false},
		{"[fe80::1]:80", false},
		{"[fd00::1]:80", false},
		{"[::ffff:10.0.0.1]:80", false},
		{"[::ffff:169.254.169.254]:80", false},
		{"[64:ff9b::a9fe:a9fe]:80", false},
		{"224.0.0.1:80", false},
		{"not-an-ip:80", false},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			err := Control("tcp", tc.addr, nil)
			if (err == nil) != tc.ok {
				t.Fatalf("Control(%s) = %v, want ok=%v", tc.addr, err, tc.ok)
			}
			if err != nil && tc.addr != "not-an-ip:80" && !errors.Is(err, ErrPrivateAddress) {
				t.Errorf("%v does not wrap ErrPrivateAddress", err)
			}
		})
	}
	if !IsPublic(netip.MustParseAddr("8.8.8.8")) {
		t.Fatal("8.8.8.8 is public")
	}
}

// The metadata address in every spelling a URL may carry is refused
// before any name is resolved.
func TestSecurityCheckURLMetadataSpellings(t *testing.T) {
	for _, raw := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://2852039166/",          // decimal
		"http://0251.0376.0251.0376/", // octal
		"http://0xa9fea9fe/",          // hex
		"http://0xa9.0xfe.0xa9.0xfe/",
		"http://169.254.43518/", // a.b.c16
		"http://[::ffff:169.254.169.254]/",
		"http://[::ffff:a9fe:a9fe]/",
		"http://127.1/",
		"http://0/",
		"http://017700000001/", // 127.0.0.1 in octal
		"http://169.254.169.254./",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckURL(u); !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("CheckURL(%s) = %v, want ErrPrivateAddress", raw, err)
		}
	}
	for _, raw := range []string{"https://example.com/", "http://93.184.216.34/", "http://1e100.net/", "http://0x.example/"} {
		u, _ := url.Parse(raw)
		if err := CheckURL(u); err != nil {
			t.Errorf("CheckURL(%s) = %v, want nil", raw, err)
		}
	}
}

// A redirect to a private address, and a name resolving to loopback,
// are refused at dial time.
func TestSecurityTransportRefusesLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	tr, err := Transport(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: tr}
	port := srv.URL[len("http://127.0.0.1"):]
	for _, u := range []string{srv.URL, "http://localhost" + port} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, u, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("GET %s = %v, want ErrPrivateAddress", u, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("the loopback server got %d requests", hits.Load())
	}
	if _, err := Transport(roundTripFunc(nil)); err == nil {
		t.Error("accepted a transport whose dialer cannot be guarded")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
