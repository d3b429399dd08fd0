package tlsroots

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA is a CA and a server certificate it signed.
type testCA struct {
	pem  []byte
	leaf tls.Certificate
}

func newTestCA(t *testing.T, name string, hosts ...string) testCA {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name, Organization: []string{"tlsroots test"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), DNSNames: hosts,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}},
		ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		leaf: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

// get fetches url over a TLS server that presents ca's leaf, dialled
// whatever the host name, with a client verifying against roots.
func get(t *testing.T, ca testCA, roots *Roots, host string) error {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf}}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // rejected handshakes are the point
	ts.StartTLS()
	defer ts.Close()
	tr := &http.Transport{TLSClientConfig: roots.ClientConfig(), DialContext: (&netDialer{addr: ts.Listener.Addr().String()}).dial}
	defer tr.CloseIdleConnections()
	_, port, _ := strings.Cut(strings.TrimPrefix(ts.URL, "https://"), ":")
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + host + ":" + port + "/")
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func writeFile(t *testing.T, dir, name string, data ...[]byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, bytes.Join(data, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerifyConnection(t *testing.T) {
	good := newTestCA(t, "good CA", "api.example.test")
	other := newTestCA(t, "other CA", "api.example.test")
	// A second root under the same subject as good's but another key:
	// both are candidates, only the right one verifies.
	sameName := newTestCA(t, "good CA", "api.example.test")
	dir := t.TempDir()
	bundle := writeFile(t, dir, "bundle.pem", []byte("junk before\n"), sameName.pem, good.pem)
	certDir := filepath.Join(dir, "certs")
	_ = os.Mkdir(certDir, 0o700)
	dirOnly := newTestCA(t, "dir CA", "dir.example.test")
	writeFile(t, certDir, "dir.pem", dirOnly.pem)
	roots := New([]string{filepath.Join(dir, "missing.pem"), bundle}, []string{certDir, filepath.Join(dir, "missing")})

	tests := []struct {
		name    string
		ca      testCA
		host    string
		wantErr string
	}{
		{name: "trusted chain, right host", ca: good, host: "api.example.test"},
		{name: "root from a certificate directory", ca: dirOnly, host: "dir.example.test"},
		{name: "wrong host", ca: good, host: "evil.example.test", wantErr: "certificate is valid for api.example.test"},
		{name: "untrusted CA", ca: other, host: "api.example.test", wantErr: "unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := get(t, tt.ca, roots, tt.host)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
				return
			}
			var cve *tls.CertificateVerificationError
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &cve) {
				t.Fatalf("GET: %v; want a certificate verification error saying %q", err, tt.wantErr)
			}
		})
	}
}

func TestNoRoots(t *testing.T) {
	ca := newTestCA(t, "a CA", "api.example.test")
	empty := New([]string{filepath.Join(t.TempDir(), "none.pem")}, nil)
	if err := get(t, ca, empty, "api.example.test"); err == nil || !strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("GET with no roots: %v, want unknown authority", err)
	}
	unreadable := New([]string{t.TempDir()}, nil) // a directory is not a readable file
	if err := get(t, ca, unreadable, "api.example.test"); err == nil || !strings.Contains(err.Error(), "load trusted roots") {
		t.Fatalf("GET with an unreadable bundle: %v, want a load error", err)
	}
}

// TestRawSubjectMatchesX509 checks the cheap subject reader against
// crypto/x509 on every root of this machine's bundle (when it has one).
func TestSubjectMatchesX509(t *testing.T) {
	var data []byte
	for _, f := range systemFiles {
		if d, err := os.ReadFile(f); err == nil {
			data = d
			break
		}
	}
	data = append(data, newTestCA(t, "extra", "x.test").pem...)
	n := 0
	for len(data) > 0 {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			continue
		}
		got, err := rawSubject(b.Bytes)
		if err != nil || !bytes.Equal(got, c.RawSubject) {
			t.Fatalf("%s: rawSubject = %x, %v; want %x", c.Subject, got, err, c.RawSubject)
		}
		body := pem.EncodeToMemory(b)
		body = body[len(pemBegin)+1 : len(body)-len(pemEnd)-1]
		if got, err := subjectOfPEM(body, new(subjectScratch)); err != nil || !bytes.Equal(got, c.RawSubject) {
			t.Fatalf("%s: subjectOfPEM = %x, %v; want %x", c.Subject, got, err, c.RawSubject)
		}
		// Every cut of the DER either yields the subject or says no.
		for cut := 0; cut < len(b.Bytes); cut += 37 {
			if got, ok := subjectOfDERPrefix(b.Bytes[:cut]); ok && !bytes.Equal(got, c.RawSubject) {
				t.Fatalf("%s: subjectOfDERPrefix(%d bytes) = %x", c.Subject, cut, got)
			}
		}
		n++
	}
	t.Logf("%d certificates checked", n)
}

// TestDirectoriesOnlyWhenNeeded checks that a chain the bundle verifies
// costs no directory scan, and that one it cannot verify gets one.
func TestDirectoriesOnlyWhenNeeded(t *testing.T) {
	good := newTestCA(t, "good CA", "api.example.test")
	inDir := newTestCA(t, "dir CA", "api.example.test")
	dir := t.TempDir()
	bundle := writeFile(t, dir, "bundle.pem", good.pem)
	certDir := filepath.Join(dir, "certs")
	_ = os.Mkdir(certDir, 0o700)
	writeFile(t, certDir, "dir.pem", inDir.pem)
	roots := New([]string{bundle}, []string{certDir})
	if err := get(t, good, roots, "api.example.test"); err != nil {
		t.Fatal(err)
	}
	if roots.dirsRead {
		t.Fatal("directories read although the bundle had the root")
	}
	if err := get(t, inDir, roots, "api.example.test"); err != nil {
		t.Fatalf("root only in the directory: %v", err)
	}
	if !roots.dirsRead {
		t.Fatal("directories not marked read")
	}
}

// FuzzSubjectOfDERPrefix: any bytes, no panic; a subject found lies
// within the input.
func FuzzSubjectOfDERPrefix(f *testing.F) {
	f.Add([]byte{0x30, 0x82, 0x01, 0x00, 0x30, 0x81, 0x10, 0xa0, 0x03, 0x02, 0x01, 0x02})
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, der []byte) {
		if s, ok := subjectOfDERPrefix(der); ok && (len(s) > len(der) || s[0] != 0x30) {
			t.Fatalf("subject %x out of %x", s, der)
		}
	})
}

// TestCRLFAndSpacedBundles: bundles written on Windows or indented still
// index (the first by the prefix decoder, the second through pem.Decode).
func TestCRLFAndSpacedBundles(t *testing.T) {
	ca := newTestCA(t, "crlf CA", "api.example.test")
	crlf := bytes.ReplaceAll(ca.pem, []byte("\n"), []byte("\r\n"))
	spaced := bytes.ReplaceAll(ca.pem, []byte("\n"), []byte(" \t\n")) // trailing blanks, which pem.Decode trims
	for name, pemText := range map[string][]byte{"crlf": crlf, "spaced": spaced} {
		roots := New([]string{writeFile(t, t.TempDir(), "b.pem", pemText)}, nil)
		if err := get(t, ca, roots, "api.example.test"); err != nil {
			t.Errorf("%s bundle: %v", name, err)
		}
	}
}

// TestSmallChunks: a bundle read a few bytes at a time, so that every
// marker and block is cut by a read, indexes the same roots.
func TestSmallChunks(t *testing.T) {
	var cas []testCA
	var pems [][]byte
	for _, name := range []string{"one CA", "two CA", "three CA"} {
		ca := newTestCA(t, name, "api.example.test")
		cas = append(cas, ca)
		pems = append(pems, []byte("# comment\n"), ca.pem)
	}
	bundle := writeFile(t, t.TempDir(), "bundle.pem", pems...)
	for _, chunk := range []int{7, 26, 27, 64, 1000} {
		roots := New([]string{bundle}, nil)
		roots.chunk = chunk
		for _, ca := range cas {
			if err := get(t, ca, roots, "api.example.test"); err != nil {
				t.Errorf("chunk %d: %v", chunk, err)
			}
		}
		if len(roots.index) != len(cas) {
			t.Errorf("chunk %d: %d subjects indexed, want %d", chunk, len(roots.index), len(cas))
		}
	}
}

// TestBundleRewritten: a bundle rewritten after it was indexed (a CA
// update moves every root) is indexed again, so its roots still verify
// and a root it no longer has does not.
func TestBundleRewritten(t *testing.T) {
	a := newTestCA(t, "a CA", "api.example.test")
	b := newTestCA(t, "b CA", "api.example.test")
	dir := t.TempDir()
	bundle := writeFile(t, dir, "bundle.pem", a.pem, b.pem)
	roots := New([]string{bundle}, nil)
	if err := get(t, a, roots, "api.example.test"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "bundle.pem", []byte("# updated\n"), b.pem) // b moved, a gone
	if err := get(t, b, roots, "api.example.test"); err != nil {
		t.Fatalf("root moved within the rewritten bundle: %v", err)
	}
	if err := get(t, newTestCA(t, "a CA", "api.example.test"), roots, "api.example.test"); err == nil {
		t.Fatal("a root no longer in the bundle verified")
	}
}
