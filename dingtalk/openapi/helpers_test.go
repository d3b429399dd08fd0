package openapi

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"picoclaw/internal/testutil"
	"testing"

	"picoclaw/dingtalk/dingtalktest"
)

func testCtx(t *testing.T) context.Context { return testutil.Context(t) }

func newFake(t *testing.T) *dingtalktest.Server {
	t.Helper()
	srv := dingtalktest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureAnswer(t *testing.T, name string) func(w http.ResponseWriter) {
	t.Helper()
	body := readFixture(t, name)
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}
}

func statusAnswer(code int, body string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}
