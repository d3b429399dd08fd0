//go:build !linux

package tlsroots

// System returns nil off Linux: there crypto/x509 asks the platform's
// verifier (macOS, Windows) or reads a handful of roots, so the default
// verification is kept.
func System(getenv func(string) string) *Roots { return nil }
