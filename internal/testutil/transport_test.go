package testutil

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Through HandlerTransport a request reaches the handler with its method,
// path, headers and body, and the answer comes back whole; in a bubble a
// hanging handler lets fake time run up to the client's timeout.
func TestHandlerTransport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hang" {
				<-r.Context().Done()
				return
			}
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Seen", r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("X-Test"))
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write(append([]byte("got "), body...))
		})
		c := &http.Client{Transport: HandlerTransport(h), Timeout: time.Minute}
		req, err := http.NewRequest(http.MethodPost, "http://fake.test/echo?q=1", strings.NewReader("hi"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Test", "yes")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || string(body) != "got hi" || resp.Header.Get("X-Seen") != "POST /echo?q=1 yes" {
			t.Errorf("answer %d %q, X-Seen %q", resp.StatusCode, body, resp.Header.Get("X-Seen"))
		}

		start := time.Now()
		_, err = c.Get("http://fake.test/hang")
		if waited := time.Since(start); err == nil || waited != time.Minute {
			t.Errorf("hanging handler: err %v after %v, want the client's timeout after 1m", err, waited)
		}
		var ue interface{ Timeout() bool }
		if !errors.As(err, &ue) || !ue.Timeout() {
			t.Errorf("err = %v, want a timeout", err)
		}
	})
}
