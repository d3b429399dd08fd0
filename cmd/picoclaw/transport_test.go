package main

import (
	"context"
	"net"
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
