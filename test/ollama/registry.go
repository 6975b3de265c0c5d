package ollama

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Registry is a stand-in for registry.ollama.ai that serves the models of an
// OLLAMA_MODELS directory over plain http, so a server can really pull:
//
//	POST /api/pull {"model": "<Host>/library/llama3.2:1b", "insecure": true}
//
// Pulls must set insecure (the server speaks https to registries
// otherwise).
type Registry struct {
	// Host is 127.0.0.1:port, the registry part of a model name.
	Host string
	// Requests counts the requests served, by "METHOD kind" (e.g. "GET blob").
	requests *counter
}

var (
	manifestPath = regexp.MustCompile(`^/v2/([a-z0-9._-]+)/([a-z0-9._-]+)/manifests/([A-Za-z0-9._-]+)$`)
	blobPath     = regexp.MustCompile(`^/v2/[a-z0-9._-]+/[a-z0-9._-]+/blobs/sha256:([a-f0-9]{64})$`)
)

// StartRegistry serves models (an OLLAMA_MODELS directory; models stored
// under registry.ollama.ai, i.e. with plain names like llama3.2:1b) until
// the test ends.
func StartRegistry(t testing.TB, models string) *Registry {
	t.Helper()
	r := &Registry{requests: &counter{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			http.Error(w, "read only", http.StatusMethodNotAllowed)
			return
		}
		if m := manifestPath.FindStringSubmatch(req.URL.Path); m != nil {
			r.requests.add(req.Method + " manifest")
			p := filepath.Join(models, "manifests", "registry.ollama.ai", m[1], m[2], m[3])
			b, err := os.ReadFile(p)
			if err != nil {
				http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
			_, _ = w.Write(b)
			return
		}
		if m := blobPath.FindStringSubmatch(req.URL.Path); m != nil {
			r.requests.add(req.Method + " blob")
			// Ollama fetches a blob's "direct URL" first and insists on a
			// redirect to another host name, as a CDN would answer.
			host, port, _ := net.SplitHostPort(req.Host)
			if req.Method == http.MethodGet && host == "127.0.0.1" {
				http.Redirect(w, req, "http://"+net.JoinHostPort("localhost", port)+req.URL.Path, http.StatusTemporaryRedirect)
				return
			}
			f, err := os.Open(filepath.Join(models, "blobs", "sha256-"+m[1]))
			if err != nil {
				http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN"}]}`, http.StatusNotFound)
				return
			}
			defer f.Close() //nolint:errcheck // Read only.
			fi, err := f.Stat()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			http.ServeContent(w, req, "", fi.ModTime(), f)
			return
		}
		http.NotFound(w, req)
	}))
	t.Cleanup(srv.Close)
	r.Host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

// Requests returns how many requests of a kind ("GET blob", "GET manifest",
// ...) the registry served.
func (r *Registry) Requests(kind string) int { return r.requests.get(kind) }
