package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// Storage backends (storage.backend).
const (
	StorageFiles = "files"
	StorageNATS  = "nats"
)

// Defaults of storage.nats.
const (
	DefaultNATSPrefix       = "picoclaw"
	DefaultNATSPartitions   = 32
	DefaultNATSLeaseSeconds = 10
)

// Storage is storage.*: where the gateway keeps what must survive it.
// "files" (the default) is the data dir; "nats" is NATS JetStream, shared
// by several gateways serving the same bots.
type Storage struct {
	Backend string      `json:"backend"`
	NATS    NATSStorage `json:"nats"`
}

// NATSStorage is storage.nats.
type NATSStorage struct {
	// URL is one server URL or several, comma-separated (nats:// or tls://).
	URL string `json:"url"`
	// Credentials is a NATS .creds file (user JWT and nkey seed).
	Credentials string  `json:"credentials"`
	TLS         NATSTLS `json:"tls"`
	// Prefix names the streams, subjects and buckets, so several
	// deployments can share one NATS account.
	Prefix string `json:"prefix"`
	// Replicas of every stream and bucket: 1, or 3 on a cluster.
	Replicas int `json:"replicas"`
	// Partitions spread the chats over the gateways; fixed once the
	// layout exists.
	Partitions int `json:"partitions"`
	// LeaseSeconds is how long a dead gateway's chats wait for another.
	LeaseSeconds int `json:"lease_seconds"`
	// Node names this gateway in leases and logs; default host-pid.
	Node string `json:"node"`
}

// NATSTLS is storage.nats.tls: a CA to trust and an optional client certificate.
type NATSTLS struct {
	CAFile   string `json:"ca_file"`
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
}

// UsesNATS reports whether the gateway keeps its state in NATS.
func (s Storage) UsesNATS() bool { return s.Backend == StorageNATS }

// validPrefix: 1–32 of [a-z0-9-], starting with a letter, as the store
// takes it ('_' joins the prefix to its buckets' names). (A regexp here
// would be compiled at every start of the binary.)
func validPrefix(p string) bool {
	if len(p) == 0 || len(p) > 32 || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// normalizeStorage fills defaults and makes file paths absolute.
func normalizeStorage(s *Storage, getenv func(string) string) error {
	if s.Backend == "" {
		s.Backend = StorageFiles
	}
	s.Backend = strings.ToLower(strings.TrimSpace(s.Backend))
	n := &s.NATS
	if n.Prefix == "" {
		n.Prefix = DefaultNATSPrefix
	}
	if n.Replicas == 0 {
		n.Replicas = 1
	}
	if n.Partitions == 0 {
		n.Partitions = DefaultNATSPartitions
	}
	if n.LeaseSeconds == 0 {
		n.LeaseSeconds = DefaultNATSLeaseSeconds
	}
	for _, f := range []struct {
		key string
		p   *string
	}{{"credentials", &n.Credentials}, {"tls.ca_file", &n.TLS.CAFile}, {"tls.cert_file", &n.TLS.CertFile}, {"tls.key_file", &n.TLS.KeyFile}} {
		if *f.p == "" {
			continue
		}
		p, err := expandHome(*f.p, getenv)
		if err == nil {
			p, err = filepath.Abs(p)
		}
		if err != nil {
			return &FieldError{Path: "storage.nats." + f.key, Msg: err.Error()}
		}
		*f.p = p
	}
	return nil
}

// validateStorage checks storage.*.
func validateStorage(s Storage, fail func(path, format string, args ...any)) {
	switch s.Backend {
	case StorageFiles:
		return
	case StorageNATS:
	default:
		fail("storage.backend", "must be %q or %q, got %q", StorageFiles, StorageNATS, s.Backend)
		return
	}
	n := s.NATS
	if strings.TrimSpace(n.URL) == "" {
		fail("storage.nats.url", "required when storage.backend is %q, e.g. nats://127.0.0.1:4222", StorageNATS)
	}
	for _, raw := range strings.Split(n.URL, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "nats" && u.Scheme != "tls") {
			fail("storage.nats.url", "each URL must look like nats://host:4222 or tls://host:4222, got %q", redactURL(raw))
			continue
		}
		if u.User != nil {
			fail("storage.nats.url", "must not carry a user or password (%q): use storage.nats.credentials", redactURL(raw))
		}
	}
	if !validPrefix(n.Prefix) {
		fail("storage.nats.prefix", "must be 1–32 lower-case letters, digits or '-', starting with a letter, got %q", n.Prefix)
	}
	if n.Replicas != 1 && n.Replicas != 3 {
		fail("storage.nats.replicas", "must be 1 (one server) or 3 (a cluster), got %d", n.Replicas)
	}
	if n.Partitions < 1 || n.Partitions > 1024 {
		fail("storage.nats.partitions", "must be between 1 and 1024, got %d", n.Partitions)
	}
	if n.LeaseSeconds < 2 || n.LeaseSeconds > 300 {
		fail("storage.nats.lease_seconds", "must be between 2 and 300, got %d", n.LeaseSeconds)
	}
	if (n.TLS.CertFile == "") != (n.TLS.KeyFile == "") {
		fail("storage.nats.tls", "cert_file and key_file go together: set both or neither")
	}
}

// redactURL drops a URL's user info, which may hold a password.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return "…@" + raw[i+1:]
		}
		return raw
	}
	u.User = url.User("…")
	return u.String()
}

// String describes the backend for logs and status, without secrets.
func (s Storage) String() string {
	if !s.UsesNATS() {
		return StorageFiles
	}
	return fmt.Sprintf("nats (%s, prefix %s, %d partitions, replicas %d)", s.NATS.URL, s.NATS.Prefix, s.NATS.Partitions, s.NATS.Replicas)
}
