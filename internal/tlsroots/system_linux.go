package tlsroots

import "strings"

// Where crypto/x509 looks on Linux (root_linux.go): the first bundle
// found, and every directory.
var (
	systemFiles = []string{
		"/etc/ssl/certs/ca-certificates.crt",                // Debian/Ubuntu/Gentoo etc.
		"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora/RHEL 6
		"/etc/ssl/ca-bundle.pem",                            // OpenSUSE
		"/etc/pki/tls/cacert.pem",                           // OpenELEC
		"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS/RHEL 7
		"/etc/ssl/cert.pem",                                 // Alpine Linux
	}
	systemDirs = []string{"/etc/ssl/certs", "/etc/pki/tls/certs"}
)

// System returns the system's roots as crypto/x509 finds them on Linux:
// SSL_CERT_FILE instead of the usual bundles when set, SSL_CERT_DIR
// (colon-separated) instead of the usual directories when set.
func System(getenv func(string) string) *Roots {
	files, dirs := systemFiles, systemDirs
	if f := getenv("SSL_CERT_FILE"); f != "" {
		files = []string{f}
	}
	if d := getenv("SSL_CERT_DIR"); d != "" {
		dirs = strings.Split(d, ":")
	}
	return New(files, dirs)
}
