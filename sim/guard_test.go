package sim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Another web site cannot make the sim send a message: not by a
// cross-site post, not through DNS rebinding.
func TestGuard(t *testing.T) {
	s := newTestSim(t)
	h := s.Handler()
	body := `{"fault":"drop-stream"}`
	for _, tc := range []struct {
		name   string
		host   string
		header map[string]string
		want   int
	}{
		{"the page itself", "127.0.0.1:18791", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"localhost", "localhost:18791", nil, http.StatusOK},
		{"a cross-site form", "127.0.0.1:18791", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, http.StatusForbidden},
		{"an old browser's cross-site post", "127.0.0.1:18791", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"DNS rebinding", "evil.example:18791", nil, http.StatusMisdirectedRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/fault", strings.NewReader(body))
			r.Host = tc.host
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("POST from %s = %d %s, want %d", tc.name, w.Code, w.Body.String(), tc.want)
			}
		})
	}
}
