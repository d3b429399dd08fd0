package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseDialOverride(t *testing.T) {
	tests := []struct {
		spec    string
		want    map[string]string
		wantErr string
	}{
		{spec: "api.dingtalk.com:443=127.0.0.1:4000, OAPI.dingtalk.com:443=[::1]:4000",
			want: map[string]string{"api.dingtalk.com:443": "127.0.0.1:4000", "oapi.dingtalk.com:443": "[::1]:4000"}},
		{spec: "api.dingtalk.com=127.0.0.1:4000", wantErr: "expected host:port=127.0.0.1:port"},
		{spec: "api.dingtalk.com:443", wantErr: "expected host:port=127.0.0.1:port"},
		{spec: "api.dingtalk.com:443=10.0.0.1:443", wantErr: "must be a loopback ip:port"},
		{spec: "api.dingtalk.com:443=localhost:443", wantErr: "must be a loopback ip:port"},
	}
	for _, tt := range tests {
		got, err := parseDialOverride(tt.spec)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), testDialEnv) {
				t.Errorf("%q: err %v, want one naming %s and saying %q", tt.spec, err, testDialEnv, tt.wantErr)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Fatalf("%q: %v, %v; want %v", tt.spec, got, err, tt.want)
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%q: %s → %s, want %s", tt.spec, k, got[k], v)
			}
		}
	}
}

// TestTransportDialOverride checks that the override sends a named host
// to its loopback target, and that without the variable nothing changes.
func TestTransportDialOverride(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	env := map[string]string{testDialEnv: "api.dingtalk.com:443=" + ln.Addr().String()}
	tr := newTransport(func(k string) string { return env[k] })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tr.DialContext(ctx, "tcp", "API.dingtalk.com:443")
	if err != nil {
		t.Fatalf("dial through the override: %v", err)
	}
	c.Close()

	bad := newTransport(func(k string) string { return map[string]string{testDialEnv: "nonsense"}[k] })
	if _, err := bad.DialContext(ctx, "tcp", "api.dingtalk.com:443"); err == nil || !strings.Contains(err.Error(), testDialEnv) {
		t.Fatalf("malformed override: dial error %v, want one naming %s", err, testDialEnv)
	}
}

// The models' transport is a copy of the shared one (same dialer and TLS
// settings) that buffers a whole request; the shared one is unchanged.
func TestModelTransport(t *testing.T) {
	env := map[string]string{testDialEnv: "api.openai.com:443=127.0.0.1:1"}
	shared := newTransport(func(k string) string { return env[k] })
	mt, ok := modelTransport(shared).(*http.Transport)
	if !ok || mt == shared {
		t.Fatalf("modelTransport = %T (same as shared: %v), want a copy", mt, mt == shared)
	}
	if mt.WriteBufferSize != modelWriteBuffer || shared.WriteBufferSize != 0 {
		t.Errorf("write buffers: models %d, shared %d; want %d, 0", mt.WriteBufferSize, shared.WriteBufferSize, modelWriteBuffer)
	}
	if mt.DialContext == nil || (shared.TLSClientConfig != nil && mt.TLSClientConfig == nil) || mt.MaxIdleConnsPerHost != shared.MaxIdleConnsPerHost {
		t.Errorf("the copy lost the shared transport's settings: %+v", mt)
	}
	other := http.RoundTripper(roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, nil }))
	if got := modelTransport(other); got == nil {
		t.Error("a transport that is not an *http.Transport must pass through")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// DingTalk's transport speaks HTTP/1.1 even to a host offering HTTP/2
// (cheaper per small post); the models' copy still takes HTTP/2.
func TestTransportProtocols(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())

	shared := newTransport(func(string) string { return "" })
	shared.TLSClientConfig = &tls.Config{RootCAs: roots}
	models, ok := modelTransport(shared).(*http.Transport)
	if !ok {
		t.Fatal("modelTransport did not return an *http.Transport")
	}
	for _, tt := range []struct {
		name string
		rt   http.RoundTripper
		want string
	}{
		{"dingtalk", shared, "HTTP/1.1"},
		{"models", models, "HTTP/2.0"},
	} {
		resp, err := (&http.Client{Transport: tt.rt, Timeout: 30 * time.Second}).Get(ts.URL)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != tt.want {
			t.Errorf("%s: server saw %q (%v), want %s", tt.name, body, err, tt.want)
		}
	}
}
