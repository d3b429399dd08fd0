package natsstore

import (
	"strings"
	"testing"
	"time"
)

func TestRoutePutGetExpire(t *testing.T) {
	url := startSingle(t).URL()
	a, b := mustOpen(t, url).Routes(), mustOpen(t, url).Routes()
	ctx := testContext(t)
	const key = "dingtalk:group:cid.X*>/+==" // opaque: dots, wildcards, slashes

	if _, ok, err := b.Get(ctx, key); err != nil || ok {
		t.Fatalf("Get before Put = %v, %v; want not found", ok, err)
	}
	if err := a.Put(ctx, key, []byte("webhook-1"), time.Hour); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if v, ok, err := b.Get(ctx, key); err != nil || !ok || string(v) != "webhook-1" {
		t.Fatalf("Get = %q, %v, %v; want webhook-1", v, ok, err)
	}
	// A newer route replaces the old one and its TTL: this one dies soon.
	if err := a.Put(ctx, key, []byte("webhook-2"), time.Second); err != nil {
		t.Fatalf("Put short: %v", err)
	}
	if v, ok, err := b.Get(ctx, key); err != nil || !ok || string(v) != "webhook-2" {
		t.Fatalf("Get = %q, %v, %v; want webhook-2", v, ok, err)
	}
	eventually(t, "route expires after its TTL", func() bool {
		_, ok, err := b.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		return !ok
	})
	// Another key is untouched by the expiry.
	if err := a.Put(ctx, "other", []byte("x"), time.Hour); err != nil {
		t.Fatalf("Put other: %v", err)
	}
	if _, ok, _ := b.Get(ctx, "other"); !ok {
		t.Fatal("other route missing")
	}
}

func TestRoutePutRejectsShortTTL(t *testing.T) {
	r := mustOpen(t, startSingle(t).URL()).Routes()
	err := r.Put(testContext(t), "k", []byte("v"), 10*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "at least 1s") {
		t.Fatalf("Put with a 10ms TTL = %v, want an error naming the minimum", err)
	}
}
