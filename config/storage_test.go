package config

import (
	"strings"
	"testing"
)

func TestStorageDefaultsToFiles(t *testing.T) {
	cfg, _, err := Parse([]byte(`{}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.UsesNATS() || cfg.Storage.Backend != StorageFiles || cfg.Storage.String() != "files" {
		t.Fatalf("storage = %+v, want the files backend", cfg.Storage)
	}
}

func TestStorageNATS(t *testing.T) {
	env := map[string]string{"HOME": "/home/u", "PICOCLAW_STORAGE_NATS_URL": "nats://10.0.0.1:4222,nats://10.0.0.2:4222"}
	cfg, _, err := Parse([]byte(`{"storage":{"backend":"nats","nats":{"credentials":"~/nats.creds","replicas":3}}}`),
		func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	n := cfg.Storage.NATS
	if !cfg.Storage.UsesNATS() || n.URL != env["PICOCLAW_STORAGE_NATS_URL"] || n.Credentials != "/home/u/nats.creds" ||
		n.Prefix != "picoclaw" || n.Replicas != 3 || n.Partitions != 32 || n.LeaseSeconds != 10 {
		t.Fatalf("storage.nats = %+v", n)
	}
}

func TestStorageNATSBadValuesNameTheKey(t *testing.T) {
	for _, c := range []struct{ json, path, want string }{
		{`"backend":"redis"`, "storage.backend", `"files" or "nats"`},
		{`"backend":"nats"`, "storage.nats.url", "required"},
		{`"backend":"nats","nats":{"url":"http://x:4222"}}`, "storage.nats.url", "nats://host:4222"},
		{`"backend":"nats","nats":{"url":"nats://bob:hunter2@x:4222"}}`, "storage.nats.url", "storage.nats.credentials"},
		{`"backend":"nats","nats":{"url":"nats://x","replicas":2}}`, "storage.nats.replicas", "1 (one server) or 3"},
		{`"backend":"nats","nats":{"url":"nats://x","replicas":5}}`, "storage.nats.replicas", "1 (one server) or 3"},
		{`"backend":"nats","nats":{"url":"nats://x","prefix":"team_a"}}`, "storage.nats.prefix", "letters, digits or '-'"},
		{`"backend":"nats","nats":{"url":"nats://x","partitions":5000}}`, "storage.nats.partitions", "between 1 and 1024"},
		{`"backend":"nats","nats":{"url":"nats://x","lease_seconds":1}}`, "storage.nats.lease_seconds", "between 2 and 300"},
		{`"backend":"nats","nats":{"url":"nats://x","prefix":"Pico.Claw"}}`, "storage.nats.prefix", "lower-case"},
		{`"backend":"nats","nats":{"url":"nats://x","tls":{"cert_file":"/c.pem"}}}`, "storage.nats.tls", "set both or neither"},
	} {
		doc := `{"storage":{` + c.json + `}}`
		if strings.Count(doc, "{") != strings.Count(doc, "}") {
			doc = strings.TrimSuffix(doc, "}")
		}
		_, _, err := Parse([]byte(doc), nil)
		if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one naming %s and %q", doc, err, c.path, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", doc, err)
		}
	}
}
