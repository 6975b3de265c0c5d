package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/aichatworkspaces/workspaces/portal/app"
	"github.com/aichatworkspaces/workspaces/portal/config"
	"github.com/aichatworkspaces/workspaces/portal/web"
)

// router is the real portal router (app wiring, SQLite, no cluster) with
// the web front end mounted, as the binary serves it.
func router(t *testing.T) http.Handler {
	t.Helper()
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a pod: no cluster
	cfg := config.Default()
	cfg.SQLitePath = filepath.Join(t.TempDir(), "portal.db")
	cfg.BcryptCost = 4
	cfg.PatternSource = t.TempDir()
	a, err := app.New(context.Background(), cfg, app.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a.Server
}

func version(t *testing.T) string {
	t.Helper()
	h, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	return h.Version()
}

type answer struct {
	Status       int
	Kind         string // "page", "json", "css", "js", "svg", "text"
	CacheControl string
	CSP          bool
}

func kindOf(ct string) string {
	switch {
	case strings.HasPrefix(ct, "text/html"):
		return "page"
	case strings.HasPrefix(ct, "application/json"):
		return "json"
	case strings.HasPrefix(ct, "text/css"):
		return "css"
	case strings.HasPrefix(ct, "text/javascript"):
		return "js"
	case strings.HasPrefix(ct, "image/svg+xml"):
		return "svg"
	}
	return "text"
}

// TestRouting: client routes get the app, assets are served with the right
// caching, and the API's paths are never shadowed by the app's fallback.
func TestRouting(t *testing.T) {
	srv := router(t)
	v := version(t)
	page := answer{200, "page", "no-cache", true}
	apiMiss := answer{404, "json", "no-store", false}
	tests := map[string]struct {
		method, path string
		want         answer
	}{
		"root":                 {"GET", "/", page},
		"client route":         {"GET", "/workspaces", page},
		"client route deep":    {"GET", "/workspaces/team-a", page},
		"client route query":   {"GET", "/login?next=%2Fprofile", page},
		"HEAD of a page":       {"HEAD", "/profile", page},
		"unknown page":         {"GET", "/no/such/page", page},
		"API unknown":          {"GET", "/api/v1/nope", apiMiss},
		"API root":             {"GET", "/api", apiMiss},
		"API dot segments":     {"GET", "/x/../api/v1/nope", apiMiss},
		"gateway":              {"GET", "/llm/team-a/api/tags", answer{401, "json", "no-store", false}},
		"gateway root":         {"GET", "/llm", apiMiss},
		"healthz":              {"GET", "/healthz", answer{200, "json", "no-store", false}},
		"healthz subpath":      {"GET", "/healthz/x", apiMiss},
		"metrics subpath":      {"GET", "/metrics/x", apiMiss},
		"readyz subpath":       {"GET", "/readyz/x", apiMiss},
		"POST to a page path":  {"POST", "/workspaces", apiMiss},
		"API needs auth":       {"GET", "/api/v1/workspaces", answer{401, "json", "no-store", false}},
		"stylesheet":           {"GET", "/assets/" + v + "/app.css", answer{200, "css", "public, max-age=31536000, immutable", true}},
		"module":               {"GET", "/assets/" + v + "/js/pages/create.js", answer{200, "js", "public, max-age=31536000, immutable", true}},
		"icon":                 {"GET", "/assets/" + v + "/icon.svg", answer{200, "svg", "public, max-age=31536000, immutable", true}},
		"other version":        {"GET", "/assets/0123456789abcdef/app.css", answer{200, "css", "no-cache", true}},
		"missing asset":        {"GET", "/assets/" + v + "/nope.js", answer{404, "text", "no-store", true}},
		"asset dir traversal":  {"GET", "/assets/" + v + "/../index.html", answer{404, "text", "no-store", true}},
		"file-like path":       {"GET", "/favicon.ico", answer{404, "text", "no-store", true}},
		"index is not a route": {"GET", "/index.html", answer{404, "text", "no-store", true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			got := answer{w.Code, kindOf(w.Header().Get("Content-Type")), w.Header().Get("Cache-Control"), w.Header().Get("Content-Security-Policy") != ""}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s %s (-want +got):\n%s\nbody: %.200s", tc.method, tc.path, diff, w.Body.String())
			}
			if got.Kind == "json" && w.Code == 404 {
				var e struct {
					Error struct{ Code string } `json:"error"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code != "not_found" {
					t.Errorf("want the API's JSON 404, got %s", w.Body.String())
				}
			}
		})
	}
}

// TestSecurityHeaders checks the page's headers and that the policy allows
// no inline code and no framing.
func TestSecurityHeaders(t *testing.T) {
	srv := router(t)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/workspaces", nil))
	got := map[string]string{}
	for _, k := range []string{"X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options", "Cross-Origin-Opener-Policy"} {
		got[k] = w.Header().Get(k)
	}
	want := map[string]string{
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		"X-Frame-Options": "DENY", "Cross-Origin-Opener-Policy": "same-origin",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, must := range []string{"script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "default-src 'none'", "require-trusted-types-for 'script'"} {
		if !strings.Contains(csp, must) {
			t.Errorf("CSP %q lacks %q", csp, must)
		}
	}
	for _, mustNot := range []string{"unsafe-inline", "unsafe-eval", "*"} {
		if strings.Contains(csp, mustNot) {
			t.Errorf("CSP %q allows %q", csp, mustNot)
		}
	}
}

// TestConditionalAndCompressed: ETags answer 304, and gzip is served only
// to clients that ask for it, decompressing to the embedded file.
func TestConditionalAndCompressed(t *testing.T) {
	srv := router(t)
	v := version(t)
	get := func(p string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", p, nil)
		for k, val := range hdr {
			req.Header.Set(k, val)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		return w
	}
	for _, p := range []string{"/", "/assets/" + v + "/js/main.js"} {
		first := get(p, nil)
		etag := first.Header().Get("ETag")
		again := get(p, map[string]string{"If-None-Match": etag})
		gz := get(p, map[string]string{"Accept-Encoding": "br, gzip"})
		if diff := cmp.Diff([]any{200, true, 304, "gzip", "Accept-Encoding"},
			[]any{first.Code, etag != "", again.Code, gz.Header().Get("Content-Encoding"), gz.Header().Get("Vary")}); diff != "" {
			t.Errorf("%s: status, has ETag, revalidation, encoding, vary (-want +got):\n%s", p, diff)
		}
		zr, err := gzip.NewReader(gz.Body)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		plain, _ := io.ReadAll(zr)
		if !bytes.Equal(plain, first.Body.Bytes()) {
			t.Errorf("%s: the gzip body does not decompress to the plain body", p)
		}
		if gz.Header().Get("ETag") == etag {
			t.Errorf("%s: gzip and plain bodies share the ETag %s", p, etag)
		}
	}
}

var (
	importRe  = regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)
	assetRefs = regexp.MustCompile(`/assets/[0-9a-f]{16}/([^"]+)"`)
)

// TestAssetsAreConsistent reads the embedded tree: every file index.html
// names and every module a module imports exists, and nothing builds HTML
// from strings or runs inline code (the CSP would block it at run time; this
// finds it before a browser does).
func TestAssetsAreConsistent(t *testing.T) {
	srv := router(t)
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	index := w.Body.String()
	root := os.DirFS("static/assets")
	var refs []string
	for _, m := range assetRefs.FindAllStringSubmatch(index, -1) {
		refs = append(refs, m[1])
	}
	if len(refs) < 3 {
		t.Fatalf("index.html names only %v", refs)
	}
	for _, r := range refs {
		if _, err := fs.Stat(root, r); err != nil {
			t.Errorf("index.html names %s: %v", r, err)
		}
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(index, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("index.html has an inline script: %s", tag)
		}
	}
	if strings.Contains(index, "<style") || strings.Contains(index, " style=") || regexp.MustCompile(` on[a-z]+=`).MatchString(index) {
		t.Errorf("index.html has inline styles or event handler attributes")
	}
	forbidden := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(`)
	err := fs.WalkDir(root, "js", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		if m := forbidden.Find(b); m != nil {
			t.Errorf("%s uses %s", p, m)
		}
		for _, m := range importRe.FindAllSubmatch(b, -1) {
			target := path.Join(path.Dir(p), string(m[1]))
			if _, err := fs.Stat(root, target); err != nil {
				t.Errorf("%s imports %s: %v", p, m[1], err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
