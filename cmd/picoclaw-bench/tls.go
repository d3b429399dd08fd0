package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"picoclaw/dingtalk/dingtalktest"
)

// testDialEnv is the gateway's test-only dial override (see
// cmd/picoclaw/transport.go): host:port=127.0.0.1:port pairs.
const testDialEnv = "PICOCLAW_TEST_ONLY_DIAL_OVERRIDE"

// systemBundles are where Linux distributions keep the CA bundle that Go
// reads first (crypto/x509's certFiles).
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// startTLS serves the fake DingTalk over TLS under DingTalk's host names
// and prepares what a user's gateway would have: a CA bundle in
// SSL_CERT_FILE, here the system's bundle plus the fake's CA, so that the
// gateway loads as many roots as on a user's machine; and, in place of
// DNS, either the dial override sending those names to the fake's port
// or, under --netns, a private /etc/hosts naming 127.0.0.1, where the
// fake listens on port 443.
func (h *harness) startTLS() error {
	if h.opts.netns {
		if !inNetns() {
			return fmt.Errorf("bench: --netns: not inside the namespaces")
		}
		if err := setupNetns(h.dir, []string{dingtalktest.APIHost, dingtalktest.OAPIHost, dingtalktest.StreamHost}); err != nil {
			return err
		}
		if err := h.dt.ListenOn("127.0.0.1:443"); err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	if err := h.dt.StartTLS(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	var bundle []byte
	for _, f := range systemBundles {
		if data, err := os.ReadFile(f); err == nil {
			bundle = append(data, '\n')
			break
		}
	}
	caFile := filepath.Join(h.dir, "ca-bundle.pem")
	if err := os.WriteFile(caFile, append(bundle, h.dt.CACertPEM()...), 0o600); err != nil {
		return fmt.Errorf("bench: write CA bundle: %w", err)
	}
	h.env = []string{"SSL_CERT_FILE=" + caFile}
	if !h.opts.netns {
		var pairs []string
		for _, host := range h.dt.Hosts() {
			pairs = append(pairs, host+":443="+h.dt.Addr())
		}
		h.env = append(h.env, testDialEnv+"="+strings.Join(pairs, ","))
	}
	return nil
}
