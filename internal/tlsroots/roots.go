// Package tlsroots verifies TLS servers against the system's trusted CAs
// without parsing them all.
//
// crypto/x509's system pool parses every certificate of the CA bundle
// and of the certificate directories (on Debian the same ~145 roots two
// or three times over, the directory through ~300 symlinks) before the
// first handshake: measured at 15–50 ms and 1.2–3.7 MB of garbage on a
// small machine, more than everything else a gateway does to connect.
// Roots instead indexes the bundle by subject name, decoding only the
// start of each certificate where the subject is, parses only the roots a server's chain names as
// issuers, once each, and reads the directories only if a chain fails
// to verify without them (a superset of roots can only verify more, so
// the outcome is the same). Verification itself is crypto/x509's, with
// the same files, environment variables (SSL_CERT_FILE, SSL_CERT_DIR)
// and options as crypto/tls would use, so it accepts and rejects exactly
// what the default would.
package tlsroots

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Roots is a lazily indexed set of trusted CA certificates. The zero
// value is not usable; use New or System. Safe for concurrent use.
type Roots struct {
	files, dirs []string
	once        sync.Once // loads the bundle file
	err         error

	mu sync.Mutex
	// index maps a RawSubject to where the roots with it are; guarded by
	// mu after once. Only places are kept, not the PEM text: a bundle is
	// ~220 KB, held for the process's life and its text needed for the
	// few roots a chain names, which are read again then.
	index map[string][]rootRef
	// dirsRead is set once the directories were indexed too.
	dirsRead bool
	parsed   map[rootRef]*x509.Certificate
	now      func() time.Time
	// chunk is how much of a file is read at a time while indexing.
	chunk int
}

// rootRef is where a root's PEM block lies: bytes off to off+n of file.
type rootRef struct {
	file   string
	off, n int64
}

// New returns Roots read from the first readable file of files and from
// every file in dirs, as crypto/x509 reads the system roots. Nothing is
// read until the first verification.
func New(files, dirs []string) *Roots {
	return &Roots{files: files, dirs: dirs, parsed: map[rootRef]*x509.Certificate{}, now: time.Now, chunk: 32 << 10}
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
		for _, ref := range r.index[string(c.RawIssuer)] {
			root, ok := r.parsed[ref]
			if !ok {
				var err error
				if root, err = r.parse(ref, c.RawIssuer); errors.Is(err, errChanged) {
					// The file was rewritten (a CA update) since it was
					// indexed: index it again, as a new process would.
					r.reindex()
					return r.poolAgain(chain)
				}
				if err != nil {
					continue // x509 skips unparsable roots too
				}
				r.parsed[ref] = root
			}
			pool.AddCert(root)
		}
	}
	return pool, nil
}

// errChanged says a root is no longer where the index has it.
var errChanged = errors.New("tlsroots: trusted roots file changed")

// parse reads the root at ref and parses it, checking that it is still
// the certificate with subject that was indexed there.
func (r *Roots) parse(ref rootRef, subject []byte) (*x509.Certificate, error) {
	f, err := os.Open(ref.file)
	if err != nil {
		return nil, errChanged
	}
	defer f.Close()
	text := make([]byte, ref.n)
	if _, err := f.ReadAt(text, ref.off); err != nil {
		return nil, errChanged
	}
	block, _ := pem.Decode(text)
	if block == nil || !bytes.HasPrefix(text, pemBegin) || !bytes.HasSuffix(text, pemEnd) {
		return nil, errChanged
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(root.RawSubject, subject) {
		return nil, errChanged
	}
	return root, nil
}

// reindex drops the index and what was parsed and indexes the files
// read so far again. Called with mu held.
func (r *Roots) reindex() {
	r.index, r.parsed, r.err = map[string][]rootRef{}, map[rootRef]*x509.Certificate{}, nil
	r.loadFile()
	if r.dirsRead {
		if err := r.loadDirs(); err != nil && r.err == nil {
			r.err = err
		}
	}
}

// poolAgain is poolFor's lookup after a reindex, without a further one:
// a root that moved again is skipped. Called with mu held.
func (r *Roots) poolAgain(chain []*x509.Certificate) (*x509.CertPool, error) {
	if len(r.index) == 0 && r.err != nil {
		return nil, fmt.Errorf("tlsroots: load trusted roots: %w", r.err)
	}
	pool := x509.NewCertPool()
	for _, c := range chain {
		for _, ref := range r.index[string(c.RawIssuer)] {
			root, ok := r.parsed[ref]
			if !ok {
				var err error
				if root, err = r.parse(ref, c.RawIssuer); err != nil {
					continue
				}
				r.parsed[ref] = root
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
	if r.index == nil {
		r.index = map[string][]rootRef{}
	}
	for _, f := range r.files {
		err := r.addFile(f)
		if err == nil {
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
			_ = r.addFile(filepath.Join(dir, e.Name())) // unreadable files are skipped, as by x509
		}
	}
	if len(r.index) == 0 {
		return firstErr
	}
	return nil
}

var (
	pemBegin = []byte("-----BEGIN CERTIFICATE-----")
	pemEnd   = []byte("-----END CERTIFICATE-----")
)

// addFile indexes the CERTIFICATE blocks of the PEM file path by subject,
// reading it a chunk at a time: it is never held whole.
func (r *Roots) addFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var sc subjectScratch
	buf := make([]byte, 0, r.chunk)
	var base int64 // file offset of buf[0]
	for {
		n, rerr := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		eof := errors.Is(rerr, io.EOF)
		if rerr != nil && !eof {
			return rerr
		}
		done := r.addBlocks(path, base, buf, eof, &sc)
		if eof {
			return nil
		}
		base += int64(done)
		buf = buf[:copy(buf, buf[done:])]
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, cap(buf)) // one block longer than a chunk
		}
	}
}

// addBlocks indexes the complete blocks of data, which starts at offset
// base of file, and returns how many bytes of it are done with: the rest
// may hold the start of a block that the next read completes. At the
// end of the file (eof) an incomplete block is ignored.
func (r *Roots) addBlocks(file string, base int64, data []byte, eof bool, sc *subjectScratch) (done int) {
	for {
		i := bytes.Index(data[done:], pemBegin)
		if i < 0 {
			// Keep what could be the start of a marker cut by the read.
			return max(done, len(data)-len(pemBegin)+1)
		}
		start := done + i
		j := bytes.Index(data[start:], pemEnd)
		if j < 0 {
			return start
		}
		end := start + j + len(pemEnd)
		body := data[start+len(pemBegin) : start+j]
		done = end
		if bytes.IndexByte(body, ':') >= 0 {
			continue // PEM headers (an encrypted block): x509 skips these too
		}
		subject, err := subjectOfPEM(body, sc)
		if err != nil {
			continue
		}
		ref := rootRef{file: file, off: base + int64(start), n: int64(end - start)}
		r.index[string(subject)] = append(r.index[string(subject)], ref)
	}
}

// subjectPrefix is how much base64 text (a multiple of 4) is decoded to
// find a subject: 1,026 bytes of DER, enough for every root of a usual
// bundle; longer ones are decoded whole.
const subjectPrefix = 1368

// subjectScratch are the buffers subjectOfPEM reuses from one
// certificate to the next, so that indexing a bundle allocates little.
type subjectScratch struct {
	b64 [subjectPrefix]byte
	der [subjectPrefix / 4 * 3]byte
}

// subjectOfPEM returns the DER subject of the certificate whose base64
// body is given. The result may point into sc: copy it to keep it.
func subjectOfPEM(body []byte, sc *subjectScratch) ([]byte, error) {
	b64 := sc.b64[:0]
	for _, c := range body {
		if c == '\n' || c == '\r' {
			continue
		}
		if len(b64) == len(sc.b64) {
			break
		}
		b64 = append(b64, c)
	}
	if n, err := base64.StdEncoding.Decode(sc.der[:], b64[:len(b64)/4*4]); err == nil {
		if subject, ok := subjectOfDERPrefix(sc.der[:n]); ok {
			return subject, nil
		}
	}
	// Unusual layout (blanks, a long issuer): decode it all.
	block, _ := pem.Decode(append(append(append([]byte{}, pemBegin...), body...), pemEnd...))
	if block == nil {
		return nil, errors.New("tlsroots: certificate is not PEM")
	}
	return rawSubject(block.Bytes)
}

// subjectOfDERPrefix walks the start of a DER certificate (RFC 5280
// §4.1): Certificate and TBSCertificate headers, then version, serial,
// signature, issuer and validity, returning the subject that follows;
// ok is false if the prefix ends first or the layout is not that.
func subjectOfDERPrefix(der []byte) (subject []byte, ok bool) {
	for _, want := range []byte{0x30, 0x30} { // Certificate, TBSCertificate
		tag, hdr, _, ok := derHeader(der)
		if !ok || tag != want {
			return nil, false
		}
		der = der[hdr:] // enter the sequence
	}
	if len(der) > 0 && der[0] == 0xa0 { // [0] EXPLICIT version
		if der, ok = derSkip(der); !ok {
			return nil, false
		}
	}
	for _, want := range []byte{0x02, 0x30, 0x30, 0x30} { // serial, signature, issuer, validity
		if len(der) == 0 || der[0] != want {
			return nil, false
		}
		if der, ok = derSkip(der); !ok {
			return nil, false
		}
	}
	tag, hdr, n, ok := derHeader(der)
	if !ok || tag != 0x30 || hdr+n > len(der) {
		return nil, false
	}
	return der[:hdr+n], true
}

// derHeader reads a DER tag and length: the header's size and the
// content's. Only the short and 1–3 byte long length forms occur in
// certificates.
func derHeader(der []byte) (tag byte, hdr, n int, ok bool) {
	if len(der) < 2 {
		return 0, 0, 0, false
	}
	tag, l := der[0], int(der[1])
	if l < 0x80 {
		return tag, 2, l, true
	}
	k := l & 0x7f
	if k < 1 || k > 3 || len(der) < 2+k {
		return 0, 0, 0, false
	}
	n = 0
	for _, b := range der[2 : 2+k] {
		n = n<<8 | int(b)
	}
	return tag, 2 + k, n, true
}

// derSkip returns what follows the element at the start of der.
func derSkip(der []byte) ([]byte, bool) {
	_, hdr, n, ok := derHeader(der)
	if !ok || hdr+n > len(der) {
		return nil, false
	}
	return der[hdr+n:], true
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

// rawSubject returns the DER subject of a whole certificate, the same
// bytes as x509.Certificate.RawSubject, without parsing its key or
// extensions.
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
