package sim

import (
	"net"
	"net/http"
)

// guard keeps other web sites away from the sim, which can make the
// configured model (and its tools) work for whoever can post to it:
// cross-origin posts are refused (CSRF), and so is a Host that is a
// domain name other than localhost, which is how DNS rebinding reaches
// a server on 127.0.0.1 from a page on the web.
func guard(next http.Handler) http.Handler {
	h := http.NewCrossOriginProtection().Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if host != "localhost" && net.ParseIP(host) == nil {
			http.Error(w, "sim: Host "+r.Host+" refused: open the sim by its IP address or localhost", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}
