package natsstore

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/internal/natstest"
)

// benchHistory writes n turns (a user and an assistant message of about
// 200 bytes each) to key and returns the URL of the server holding them.
func benchHistory(b *testing.B, n int) (string, picoclaw.SessionKey) {
	b.Helper()
	url := natstest.Start(b).URL()
	st, err := Open(b.Context(), Config{URL: url}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ss := st.Sessions()
	text := strings.Repeat("lorem ipsum ", 16)
	if _, err := ss.Load(b.Context(), alice); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := ss.Append(b.Context(), alice, user(fmt.Sprint(i, text)), assistant(text)); err != nil {
			b.Fatal(err)
		}
	}
	return url, alice
}

func benchOpen(b *testing.B, url string) *Sessions {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	st, err := Open(ctx, Config{URL: url}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st.Sessions()
}

// BenchmarkLoadCold reads a 300-record history into an empty cache.
func BenchmarkLoadCold(b *testing.B) {
	url, key := benchHistory(b, 300)
	ss := benchOpen(b, url)
	for b.Loop() {
		ss.cache.Drop(key)
		msgs, err := ss.Load(b.Context(), key)
		if err != nil || len(msgs) != 600 {
			b.Fatalf("Load = %d messages, %v", len(msgs), err)
		}
	}
}

// BenchmarkLoadCached re-checks a cached 300-record history: one request.
func BenchmarkLoadCached(b *testing.B) {
	url, key := benchHistory(b, 300)
	ss := benchOpen(b, url)
	for b.Loop() {
		if _, err := ss.Load(b.Context(), key); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend writes one turn's record with the expected sequence.
func BenchmarkAppend(b *testing.B) {
	url, key := benchHistory(b, 1)
	ss := benchOpen(b, url)
	if _, err := ss.Load(b.Context(), key); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := ss.Append(b.Context(), key, user("q"), assistant("a")); err != nil {
			b.Fatal(err)
		}
	}
}
