package dingtalktest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"picoclaw/internal/testutil"
	"testing"

	"github.com/coder/websocket"
)

// testCtx bounds a test's waits so a regression fails instead of hanging.
func testCtx(t *testing.T) context.Context { return testutil.Context(t) }

func newServer(t *testing.T) *Server {
	t.Helper()
	return newServerWith(t, nil)
}

// newServerWith starts a fake whose settings set changes first, as
// NewUnstartedServer allows.
func newServerWith(t *testing.T, set func(*Server)) *Server {
	t.Helper()
	s := NewUnstartedServer()
	if set != nil {
		set(s)
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

type openResult struct {
	status int
	body   []byte
}

// postOpen calls connections/open with the given credentials.
func postOpen(t *testing.T, s *Server, id, secret string) openResult {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"clientId": id, "clientSecret": secret, "ua": "test/1", "localIp": "10.0.0.1",
		"subscriptions": []Subscription{{"CALLBACK", TopicBotMessage}},
	})
	return postRaw(t, s.URL()+OpenPath, "application/json", body)
}

func postRaw(t *testing.T, u, ct string, body []byte) openResult {
	t.Helper()
	req, err := http.NewRequestWithContext(testCtx(t), http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return openResult{resp.StatusCode, b}
}

// dialRaw opens a connection with a bare websocket client, so the fake can
// be checked without any stream client.
func dialRaw(t *testing.T, s *Server) *websocket.Conn {
	t.Helper()
	return dialApp(t, s, s.ClientID, s.ClientSecret)
}

// readJSON reads one text message and decodes it into a generic map.
func readJSON(t *testing.T, ws *websocket.Conn) (map[string]any, []byte) {
	t.Helper()
	_, b, err := ws.Read(testCtx(t))
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("frame is not a JSON object: %v: %s", err, b)
	}
	return m, b
}

func readFixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return m
}

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case nil:
		return "null"
	}
	return "?"
}

// sameShape reports every key of want that got lacks or holds with another
// JSON type, descending into objects and the first element of arrays.
func sameShape(t *testing.T, path string, want, got map[string]any, skip map[string]bool) {
	t.Helper()
	for k, wv := range want {
		p := path + "." + k
		if skip[p] {
			continue
		}
		gv, ok := got[k]
		if !ok {
			t.Errorf("%s: missing (fixture has %s)", p, jsonKind(wv))
			continue
		}
		if jsonKind(gv) != jsonKind(wv) {
			t.Errorf("%s: got %s, fixture has %s", p, jsonKind(gv), jsonKind(wv))
			continue
		}
		switch wv := wv.(type) {
		case map[string]any:
			sameShape(t, p, wv, gv.(map[string]any), skip)
		case []any:
			ga := gv.([]any)
			for i := range wv {
				wo, ok1 := wv[i].(map[string]any)
				if !ok1 {
					continue
				}
				// Match array objects by their key set: the fake may order them differently.
				found := false
				for _, g := range ga {
					if go_, ok := g.(map[string]any); ok && len(go_) == len(wo) {
						sameShape(t, p+"[]", wo, go_, skip)
						found = true
						break
					}
				}
				if !found {
					t.Errorf("%s: no element shaped like fixture element %d %v", p, i, wo)
				}
			}
		}
	}
}
