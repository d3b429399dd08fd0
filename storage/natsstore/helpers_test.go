package natsstore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"picoclaw"
	"picoclaw/internal/natstest"
)

// testWait bounds every wait of these tests on a loaded machine.
const testWait = 60 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testWait)
	t.Cleanup(cancel)
	return ctx
}

// mustOpen opens a Store on url and closes it with the test.
func mustOpen(t *testing.T, url string, mod ...func(*Config)) *Store {
	t.Helper()
	cfg := Config{URL: url, Name: t.Name()}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := Open(testContext(t), cfg, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func user(text string) picoclaw.Message {
	return picoclaw.Message{Role: picoclaw.RoleUser, Content: text}
}

func assistant(text string) picoclaw.Message {
	return picoclaw.Message{Role: picoclaw.RoleAssistant, Content: text}
}

func contents(msgs []picoclaw.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Content
	}
	return out
}

// wantHistory loads key and compares its contents with want.
func wantHistory(t *testing.T, ss *Sessions, key picoclaw.SessionKey, want ...string) {
	t.Helper()
	got, err := ss.Load(testContext(t), key)
	if err != nil {
		t.Fatalf("Load %s: %v", key, err)
	}
	if c := contents(got); !slices.Equal(c, want) && !(len(c) == 0 && len(want) == 0) {
		t.Fatalf("Load %s = %q, want %q", key, c, want)
	}
}

func mustAppend(t *testing.T, ss *Sessions, key picoclaw.SessionKey, msgs ...picoclaw.Message) {
	t.Helper()
	if err := ss.Append(testContext(t), key, msgs...); err != nil {
		t.Fatalf("Append %s: %v", key, err)
	}
}

// eventually polls cond until it holds or testWait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, testWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startSingle(t *testing.T) *natstest.Cluster { return natstest.Start(t) }

func keyN(i int) picoclaw.SessionKey {
	return picoclaw.SessionKey(fmt.Sprintf("dingtalk:group:cid%d==", i))
}
