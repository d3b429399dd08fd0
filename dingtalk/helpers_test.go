package dingtalk

import (
	"context"
	"testing"
	"time"

	"picoclaw/dingtalk/dingtalktest"
)

// testCtx bounds a test's waits generously: a loaded machine is slow, a
// hang still ends.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newFake(t *testing.T) *dingtalktest.Server {
	t.Helper()
	srv := dingtalktest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}
