package natsstore

import "picoclaw/internal/histcache"

// DefaultCacheBytes bounds the histories a Sessions keeps decoded, counted
// by the size of their records (as session.DefaultCacheBytes does for
// files). An entry is stamped with the sequence of the last record it
// includes and only used while that is still the subject's last sequence
// (Load asks the server each time), so another gateway's write is never
// hidden by it.
const DefaultCacheBytes = histcache.DefaultBytes
