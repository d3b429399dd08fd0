package natsstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Routes keeps small values that expire on their own, in the P_routes
// bucket: how to reply into a chat (DingTalk's session webhook, valid until
// its sessionWebhookExpiredTime). Keys are opaque strings.
type Routes struct {
	st *Store
	kv jetstream.KeyValue
}

// Routes returns the store's routes bucket.
func (s *Store) Routes() *Routes { return &Routes{st: s, kv: s.routesKV} }

// Put stores value under key for ttl (at least a second: the server's
// granularity), replacing any earlier value and its TTL.
func (r *Routes) Put(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if key == "" {
		return errors.New("natsstore: put route: empty key")
	}
	if ttl < time.Second {
		return fmt.Errorf("natsstore: put route %q: ttl %v; expected at least 1s", key, ttl)
	}
	// KeyValue.Put takes no TTL, so the put is the KV's own message with a
	// per-message TTL header; the bucket allows those (LimitMarkerTTL).
	subj := "$KV." + r.kv.Bucket() + "." + encodeToken(key)
	if _, err := r.st.js.Publish(ctx, subj, value, publishOpts(jetstream.WithMsgTTL(ttl))...); err != nil {
		return fmt.Errorf("natsstore: put route %q: %w", key, err)
	}
	return nil
}

// Get returns key's value; false once it expired or if it was never put.
func (r *Routes) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if key == "" {
		return nil, false, errors.New("natsstore: get route: empty key")
	}
	e, err := r.kv.Get(ctx, encodeToken(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("natsstore: get route %q: %w", key, err)
	}
	return e.Value(), true, nil
}
