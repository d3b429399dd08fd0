// Package tlsroots verifies TLS servers against the system's trusted CAs
// without parsing them all.
//
// crypto/x509's system pool parses every certificate of the CA bundle
// and of the certificate directories (on Debian the same ~145 roots two
// or three times over, the directory through ~300 symlinks) before the
// first handshake: measured at 15–50 ms and 1.2–3.7 MB of garbage on a
// small machine, more than everything else a gateway does to connect.
// Roots instead indexes the bundle by subject name, which needs no
// public-key parsing, parses only the roots a server's chain names as
// issuers, once each, and reads the directories only if a chain fails
// to verify without them (a superset of roots can only verify more, so
// the outcome is the same). Verification itself is crypto/x509's, with
// the same files, environment variables (SSL_CERT_FILE, SSL_CERT_DIR)
// and options as crypto/tls would use, so it accepts and rejects exactly
// what the default would.
package tlsroots

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Roots is a lazily indexed set of trusted CA certificates. The zero
// value is not usable; use New or System. Safe for concurrent use.
type Roots struct {
	files, dirs []string

	once  sync.Once // loads the bundle file
	err   error
	mu    sync.Mutex
	index map[string][][]byte // RawSubject → DER of the roots with it; guarded by mu after once
	seen  map[[sha256.Size]byte]bool
	// dirsRead is set once the directories were indexed too.
	dirsRead bool
	parsed   map[string]*x509.Certificate // DER → parsed root
	now      func() time.Time
}

// New returns Roots read from the first readable file of files and from
// every file in dirs, as crypto/x509 reads the system roots. Nothing is
// read until the first verification.
func New(files, dirs []string) *Roots {
	return &Roots{files: files, dirs: dirs, parsed: map[string]*x509.Certificate{}, now: time.Now}
}

// ClientConfig returns a TLS client config that verifies servers with r
// (see VerifyConnection), remembers sessions for resumption, and keeps
// every other setting at crypto/tls's defaults.
func (r *Roots) ClientConfig() *tls.Config {
	return &tls.Config{
		// crypto/tls's documented way to verify with a custom pool:
		// skip its own check, which needs every root parsed up front,
		// and verify in VerifyConnection, which runs on every handshake
		// (resumed ones included) and fails it on error.
		InsecureSkipVerify: true, //nolint:gosec // verified in VerifyConnection
		VerifyConnection:   r.VerifyConnection,
		ClientSessionCache: tls.NewLRUClientSessionCache(16),
	}
}

// VerifyConnection verifies a server's chain and host name as crypto/tls
// does by default, against the roots that the chain names as issuers.
func (r *Roots) VerifyConnection(cs tls.ConnectionState) error {
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		return errors.New("tlsroots: server sent no certificate")
	}
	pool, err := r.poolFor(certs, false)
	if err != nil {
		return err
	}
	opts := x509.VerifyOptions{
		Roots:         pool,
		CurrentTime:   r.now(),
		DNSName:       cs.ServerName,
		Intermediates: x509.NewCertPool(),
	}
	for _, c := range certs[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err = certs[0].Verify(opts)
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		// The bundle lacks the root: try again with the directories.
		if opts.Roots, err = r.poolFor(certs, true); err != nil {
			return err
		}
		_, err = certs[0].Verify(opts)
	}
	if err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: certs, Err: err}
	}
	return nil
}

// poolFor returns a pool of the trusted roots whose subject is the issuer
// of a certificate in chain: the only roots x509 would consider for it.
// withDirs indexes the certificate directories first, once.
func (r *Roots) poolFor(chain []*x509.Certificate, withDirs bool) (*x509.CertPool, error) {
	r.once.Do(r.loadFile)
	r.mu.Lock()
	defer r.mu.Unlock()
	if (withDirs || len(r.index) == 0) && !r.dirsRead {
		// Wanted, or no bundle: systems without one keep roots there.
		r.dirsRead = true
		if err := r.loadDirs(); err != nil && r.err == nil {
			r.err = err
		}
	}
	if len(r.index) == 0 && r.err != nil {
		// No root anywhere, and something could not be read.
		return nil, fmt.Errorf("tlsroots: load trusted roots: %w", r.err)
	}
	pool := x509.NewCertPool()
	for _, c := range chain {
		for _, der := range r.index[string(c.RawIssuer)] {
			root, ok := r.parsed[string(der)]
			if !ok {
				var err error
				if root, err = x509.ParseCertificate(der); err != nil {
					// x509 skips unparsable roots too.
					continue
				}
				r.parsed[string(der)] = root
			}
			pool.AddCert(root)
		}
	}
	return pool, nil
}

// loadFile indexes the first bundle file that can be read. An error
// other than a missing file is kept: like crypto/x509, verification fails
// with it only if no root can be found anywhere.
func (r *Roots) loadFile() {
	r.index = map[string][][]byte{}
	r.seen = map[[sha256.Size]byte]bool{}
	for _, f := range r.files {
		data, err := os.ReadFile(f)
		if err == nil {
			r.add(data)
			return
		}
		if r.err == nil && !errors.Is(err, fs.ErrNotExist) {
			r.err = err
		}
	}
}

// loadDirs indexes every file of the directories except links to a file
// of the same directory; it returns an error if nothing at all was
// found and some directory could not be read. Called with mu held.
func (r *Roots) loadDirs() error {
	var firstErr error
	for _, dir := range r.dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			if firstErr == nil && !errors.Is(err, fs.ErrNotExist) {
				firstErr = err
			}
			continue
		}
		for _, e := range entries {
			if sameDirSymlink(dir, e) {
				continue // a hash link to a file read anyway
			}
			if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				r.add(data)
			}
		}
	}
	if len(r.index) == 0 {
		return firstErr
	}
	return nil
}

// add indexes the CERTIFICATE blocks of a PEM document by subject.
func (r *Roots) add(data []byte) {
	for len(data) > 0 {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			continue
		}
		sum := sha256.Sum256(block.Bytes)
		if r.seen[sum] {
			continue
		}
		subject, err := rawSubject(block.Bytes)
		if err != nil {
			continue
		}
		r.seen[sum] = true
		r.index[string(subject)] = append(r.index[string(subject)], block.Bytes)
	}
}

// tbsPrefix is the start of a TBSCertificate (RFC 5280 §4.1) up to the
// subject; the fields after it are left unparsed.
type tbsPrefix struct {
	Version   asn1.RawValue `asn1:"optional,explicit,tag:0"`
	Serial    asn1.RawValue
	Signature asn1.RawValue
	Issuer    asn1.RawValue
	Validity  asn1.RawValue
	Subject   asn1.RawValue
}

// rawSubject returns the DER subject of a certificate, the same bytes as
// x509.Certificate.RawSubject, without parsing its key or extensions.
func rawSubject(der []byte) ([]byte, error) {
	var cert struct {
		TBS asn1.RawValue
	}
	if _, err := asn1.Unmarshal(der, &cert); err != nil {
		return nil, fmt.Errorf("tlsroots: certificate: %w", err)
	}
	var tbs tbsPrefix
	if _, err := asn1.Unmarshal(cert.TBS.FullBytes, &tbs); err != nil {
		return nil, fmt.Errorf("tlsroots: certificate body: %w", err)
	}
	if len(tbs.Subject.FullBytes) == 0 {
		return nil, errors.New("tlsroots: certificate has no subject")
	}
	return tbs.Subject.FullBytes, nil
}

// sameDirSymlink reports a symlink to a file of the same directory (the
// hash links of c_rehash), which crypto/x509 skips as well.
func sameDirSymlink(dir string, e fs.DirEntry) bool {
	if e.Type()&fs.ModeSymlink == 0 {
		return false
	}
	target, err := os.Readlink(filepath.Join(dir, e.Name()))
	return err == nil && !strings.Contains(target, "/")
}
