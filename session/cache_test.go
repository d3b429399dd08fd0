package session

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/internal/histcache"
)

// fresh loads key through a new Store on the same directory: what the
// file says, without the cache.
func fresh(t *testing.T, s *Store, key picoclaw.SessionKey) []picoclaw.Message {
	t.Helper()
	msgs, err := mustOpen(t, s.dir, nil).Load(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func mustLoad(t *testing.T, s *Store, key picoclaw.SessionKey) []picoclaw.Message {
	t.Helper()
	msgs, err := s.Load(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func mustAppend(t *testing.T, s *Store, key picoclaw.SessionKey, msgs ...picoclaw.Message) {
	t.Helper()
	if err := s.Append(context.Background(), key, msgs...); err != nil {
		t.Fatal(err)
	}
}

func TestCachedLoadMatchesFile(t *testing.T) {
	key := picoclaw.SessionKey("dingtalk:direct:u1")
	local := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("CST", 8*3600))
	tests := []struct {
		name  string
		setup func(t *testing.T, s *Store) // what happens to the history
	}{
		{"appends", func(t *testing.T, s *Store) {
			mustAppend(t, s, key, sampleMessages()...)
			mustLoad(t, s, key)
			mustAppend(t, s, key, picoclaw.Message{Role: picoclaw.RoleUser, Content: "two", Time: local,
				Images: []picoclaw.Attachment{{Kind: "image", Data: []byte{1}}}}) // images are not persisted
		}},
		{"another process appends", func(t *testing.T, s *Store) {
			mustAppend(t, s, key, sampleMessages()...)
			mustLoad(t, s, key)
			mustAppend(t, mustOpen(t, s.dir, nil), key, picoclaw.Message{Role: picoclaw.RoleUser, Content: "elsewhere"})
		}},
		{"replaced", func(t *testing.T, s *Store) {
			mustAppend(t, s, key, sampleMessages()...)
			mustLoad(t, s, key)
			if err := s.Replace(context.Background(), key, sampleMessages()[:1]); err != nil {
				t.Fatal(err)
			}
		}},
		{"replaced by another process, same size", func(t *testing.T, s *Store) {
			mustAppend(t, s, key, picoclaw.Message{Role: picoclaw.RoleUser, Content: "aaaa"})
			mustLoad(t, s, key)
			if err := mustOpen(t, s.dir, nil).Replace(context.Background(), key, []picoclaw.Message{{Role: picoclaw.RoleUser, Content: "bbbb"}}); err != nil {
				t.Fatal(err)
			}
		}},
		{"reset", func(t *testing.T, s *Store) {
			mustAppend(t, s, key, sampleMessages()...)
			mustLoad(t, s, key)
			if err := s.Reset(context.Background(), key); err != nil {
				t.Fatal(err)
			}
			mustAppend(t, s, key, picoclaw.Message{Role: picoclaw.RoleUser, Content: "new start"})
		}},
		{"torn line closed by an append", func(t *testing.T, s *Store) {
			path, _ := s.path(key)
			if err := os.WriteFile(path, []byte(`{"role":"user","content":"one"}`+"\n"+`{"role":"assis`), 0o600); err != nil {
				t.Fatal(err)
			}
			mustLoad(t, s, key)
			mustAppend(t, s, key, picoclaw.Message{Role: picoclaw.RoleUser, Content: "after"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustOpen(t, t.TempDir(), nil)
			tt.setup(t, s)
			got, want := mustLoad(t, s, key), fresh(t, s, key)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("cached Load\n%+v\nwant what the file holds\n%+v", got, want)
			}
		})
	}
}

func TestCachedLoadReturnsCopies(t *testing.T) {
	s := mustOpen(t, t.TempDir(), nil)
	key := picoclaw.SessionKey("dingtalk:direct:u1")
	mustAppend(t, s, key, sampleMessages()...)
	first := mustLoad(t, s, key)
	first[0].Content = "changed"
	first[1].ToolCalls[0].Arguments[2] = 'X'
	_ = append(first[:1], picoclaw.Message{Content: "appended"})
	if got := mustLoad(t, s, key); !reflect.DeepEqual(got, fresh(t, s, key)) {
		t.Errorf("a caller's changes reached the cache: %+v", got)
	}
}

func TestCacheEvictsLeastRecent(t *testing.T) {
	s := mustOpen(t, t.TempDir(), nil)
	big := picoclaw.Message{Role: picoclaw.RoleUser, Content: strings.Repeat("x", 400)}
	line, _ := json.Marshal(big)
	s.cache = histcache.New[os.FileInfo](int64(2*len(line) + 10)) // room for two one-message histories
	keys := []picoclaw.SessionKey{"dingtalk:direct:a", "dingtalk:direct:b", "dingtalk:direct:c"}
	for _, k := range keys {
		mustAppend(t, s, k, big)
	}
	cached := s.cache.Has
	if cached(keys[0]) || !cached(keys[1]) || !cached(keys[2]) {
		t.Errorf("cached a=%v b=%v c=%v; want the first evicted", cached(keys[0]), cached(keys[1]), cached(keys[2]))
	}
	mustLoad(t, s, keys[1]) // b is now the most recent
	mustLoad(t, s, keys[0]) // a comes back, c goes
	if !cached(keys[0]) || !cached(keys[1]) || cached(keys[2]) {
		t.Errorf("cached a=%v b=%v c=%v; want c evicted", cached(keys[0]), cached(keys[1]), cached(keys[2]))
	}
	if held, max := s.cache.Bytes(); held > max {
		t.Errorf("cache holds %d bytes, over its %d", held, max)
	}
	for _, k := range keys {
		if got := mustLoad(t, s, k); len(got) != 1 || got[0].Content != big.Content {
			t.Errorf("%s: %d messages", k, len(got))
		}
	}
}
