package dingtalktest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"
)

// DingTalk's public host names, which StartTLS serves: the OpenAPI and
// the stream's connections/open, the legacy API (session webhooks, media
// upload), and the stream sockets.
const (
	APIHost    = "api.dingtalk.com"
	OAPIHost   = "oapi.dingtalk.com"
	StreamHost = "wss-open-connection.dingtalk.com"
)

// tlsState is what StartTLS made: the throw-away CA a client must trust.
type tlsState struct {
	caPEM []byte
	pool  *x509.CertPool
}

// StartTLS serves the fake over TLS under DingTalk's own host names, on
// one 127.0.0.1 port: URL becomes https://api.dingtalk.com, session
// webhooks https://oapi.dingtalk.com/…, stream endpoints
// wss://wss-open-connection.dingtalk.com/connect. Its certificate, for
// those three names, is signed by a CA made for this server alone
// (CACertPEM), which nothing else trusts.
//
// Nothing resolves those names to the fake: a client dials Addr for them
// (Client does), and a gateway process is told to through its test-only
// dial override. Clients offer HTTP/2 as well as HTTP/1.1, as
// DingTalk's front ends do.
func (s *Server) StartTLS() error {
	st, leaf, err := newTestPKI([]string{APIHost, OAPIHost, StreamHost}, time.Now())
	if err != nil {
		return fmt.Errorf("dingtalktest: start TLS: %w", err)
	}
	s.tls = st
	s.ts.EnableHTTP2 = true
	s.ts.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}, NextProtos: []string{"h2", "http/1.1"}}
	s.ts.StartTLS()
	s.base = "https://" + APIHost
	s.oapiBase = "https://" + OAPIHost
	s.wsBase = "wss://" + StreamHost
	return nil
}

// Addr is the 127.0.0.1:port the fake listens on, where clients dial
// DingTalk's host names under StartTLS.
func (s *Server) Addr() string { return s.ts.Listener.Addr().String() }

// Hosts are the host names a client must send to Addr: DingTalk's three
// under StartTLS, none on a plain server (its URLs name Addr itself).
func (s *Server) Hosts() []string {
	if s.tls == nil {
		return nil
	}
	return []string{APIHost, OAPIHost, StreamHost}
}

// CACertPEM is the PEM certificate of the CA that signed the fake's
// certificate under StartTLS (nil on a plain server): what a gateway
// process is given in SSL_CERT_FILE.
func (s *Server) CACertPEM() []byte {
	if s.tls == nil {
		return nil
	}
	return s.tls.caPEM
}

// Client returns an HTTP client for the fake: under StartTLS it trusts
// the fake's CA and dials Addr for DingTalk's host names, as a gateway
// with the dial override does; on a plain server it is a fresh client.
func (s *Server) Client() *http.Client {
	if s.tls == nil {
		return &http.Client{Transport: &http.Transport{}}
	}
	addr := s.Addr()
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: s.tls.pool},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, hostport string) (net.Conn, error) {
			if host, _, err := net.SplitHostPort(hostport); err == nil && strings.HasSuffix(host, ".dingtalk.com") {
				hostport = addr
			}
			return d.DialContext(ctx, network, hostport)
		},
	}}
}

// newTestPKI makes a CA and a server certificate for names signed by it,
// both ECDSA P-256 and valid for a day around now.
func newTestPKI(names []string, now time.Time) (*tlsState, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dingtalktest throw-away CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("CA certificate: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("server key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("server certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	st := &tlsState{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), pool: pool}
	return st, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// ListenOn makes an unstarted server listen on addr instead of a free
// port of 127.0.0.1: 127.0.0.1:443 inside a private network namespace
// where DingTalk's names resolve to 127.0.0.1, so that a client dials
// https://api.dingtalk.com as it would on the Internet.
func (s *Server) ListenOn(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("dingtalktest: listen on %s: %w", addr, err)
	}
	_ = s.ts.Listener.Close()
	s.ts.Listener = &gateListener{Listener: ln}
	return nil
}
