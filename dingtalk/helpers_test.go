package dingtalk

import (
	"context"
	"picoclaw/internal/testutil"
	"testing"

	"picoclaw/dingtalk/dingtalktest"
)

// testCtx bounds a test's waits generously: a loaded machine is slow, a
// hang still ends.
func testCtx(t *testing.T) context.Context { return testutil.Context(t) }

func newFake(t *testing.T) *dingtalktest.Server {
	t.Helper()
	srv := dingtalktest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}
