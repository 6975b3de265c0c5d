// Package web is the portal's browser front end: plain HTML, CSS and ES
// modules embedded in the binary, so running the portal needs no Node and
// no second server. The app talks to the portal only through its JSON API.
//
// Assets are served under /assets/<version>/, where version is a hash of
// every embedded file: a page always loads the assets it was built with,
// and they can be cached for a year. index.html is answered for every other
// path (the app's own routes) and is revalidated on each load by its ETag.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// CSP is the Content-Security-Policy of every page and asset. Scripts and
// styles come only from the portal itself (no inline code of any kind), the
// app may only call its own origin, and no one may frame it. Trusted Types
// make any HTML-string sink (innerHTML and friends) throw, so the app can
// only build its DOM from text nodes.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; " +
	"frame-ancestors 'none'; require-trusted-types-for 'script'; trusted-types 'none'"

// versionPlaceholder in index.html is replaced by the asset version.
const versionPlaceholder = "__ASSET_VERSION__"

// Handler serves the embedded front end.
type Handler struct {
	version string
	index   *asset
	assets  map[string]*asset // by path below static/assets
}

type asset struct {
	body, gz   []byte
	etag, gzET string
	ctype      string
}

// New loads the embedded files.
func New() (*Handler, error) {
	return newFrom(static)
}

func newFrom(fsys fs.FS) (*Handler, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, "static/assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[strings.TrimPrefix(p, "static/assets/")] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web assets: %w", err)
	}
	idx, err := fs.ReadFile(fsys, "static/index.html")
	if err != nil {
		return nil, fmt.Errorf("web assets: %w", err)
	}
	// The version covers every asset, so changing any module changes the
	// URL of all of them: relative imports between modules stay consistent.
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(files[n]))
		h.Write(files[n])
	}
	version := hex.EncodeToString(h.Sum(nil))[:16]
	w := &Handler{version: version, assets: make(map[string]*asset, len(files))}
	for _, n := range names {
		w.assets[n] = newAsset(n, files[n])
	}
	w.index = newAsset("index.html", bytes.ReplaceAll(idx, []byte(versionPlaceholder), []byte(version)))
	return w, nil
}

func newAsset(name string, b []byte) *asset {
	sum := sha256.Sum256(b)
	a := &asset{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	a.ctype = mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	// Set explicitly: the system MIME table may lack these or differ.
	case ".js":
		a.ctype = "text/javascript; charset=utf-8"
	case ".css":
		a.ctype = "text/css; charset=utf-8"
	case ".html":
		a.ctype = "text/html; charset=utf-8"
	case ".svg":
		a.ctype = "image/svg+xml"
	case ".webmanifest":
		a.ctype = "application/manifest+json"
	}
	if a.ctype == "" {
		a.ctype = "application/octet-stream"
	}
	// Compressed once at start; only kept when it saves something.
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(b)
	_ = zw.Close()
	if buf.Len() < len(b)*9/10 {
		a.gz = buf.Bytes()
		a.gzET = `"` + hex.EncodeToString(sum[:8]) + `-gz"`
	}
	return a
}

// Version is the current asset version (the path segment after /assets/).
func (h *Handler) Version() string { return h.version }

// ServeHTTP answers /assets/<version>/<file> and, for any other path
// without a file extension, index.html.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")

	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/assets/"); ok {
		version, name, _ := strings.Cut(rest, "/")
		a := h.assets[name]
		if a == nil {
			notFound(w)
			return
		}
		if version == h.version {
			hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			// A page from an older (or newer) rollout asks for its own
			// version: answer with what we have, but never let it stick.
			hd.Set("Cache-Control", "no-cache")
		}
		h.serve(w, r, name, a)
		return
	}
	// Client routes never contain a dot (workspace names are DNS labels), so
	// a path that looks like a file is a missing file, not a page.
	if strings.Contains(path.Base(p), ".") {
		notFound(w)
		return
	}
	// The page is small and names the asset version: revalidate every time.
	hd.Set("Cache-Control", "no-cache")
	h.serve(w, r, "index.html", h.index)
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, name string, a *asset) {
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Add("Vary", "Accept-Encoding")
	body, etag := a.body, a.etag
	if a.gz != nil && acceptsGzip(r) {
		body, etag = a.gz, a.gzET
		hd.Set("Content-Encoding", "gzip")
	}
	hd.Set("ETag", etag)
	// ServeContent answers If-None-Match with 304 using the ETag above.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("not found\n"))
}
