package ollama

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
)

// Recorder is a reverse proxy in front of a server that counts the requests
// passing through, so a test can prove what a client did (or did not) ask,
// e.g. that an idempotent run sent no POST /api/create.
type Recorder struct {
	// URL is the proxy's base URL; point clients (OLLAMA_HOST) at it.
	URL string
	// Addr is its host:port.
	Addr string
	n    *counter
}

// Record starts a Recorder for s until the test ends.
func Record(t testing.TB, s *Server) *Recorder {
	t.Helper()
	target, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	r := &Recorder{n: &counter{}}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // Stream NDJSON progress as it comes.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.n.add(req.Method + " " + req.URL.Path)
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	r.Addr = srv.Listener.Addr().String()
	return r
}

// Count returns how many requests "METHOD /path" passed, e.g.
// Count("POST /api/create").
func (r *Recorder) Count(request string) int { return r.n.get(request) }
